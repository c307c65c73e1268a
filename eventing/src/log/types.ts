import type { HttpMessage } from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';
import type { ReplayResult } from '../wire.js';

export type { PartitionReplay, ReplayResult } from '../wire.js';

/**
 * The broker's storage interface. Two backends implement it: `kafka/` (topic per broker, consumer group
 * per trigger, Knative Kafka Broker layout) and `postgres/` (durable log tables in schema
 * `tributary_broker`). The ingress appends; one dispatcher per Trigger subscribes.
 */

/** A Knative Broker, identified by namespace and name. */
export interface BrokerRef {
  namespace: string;
  name: string;
}

/** One stored event as the log hands it to a dispatcher. */
export interface LogRecord {
  /** Kafka partition; the postgres backend has a single partition 0. */
  partition: number;
  /** Position within the partition (int64 as a decimal string, as kafkajs gives it). */
  offset: string;
  /** The record key: the event's `partitionkey` extension, or null. */
  key: string | null;
  /**
   * The decoded event. The Kafka log decodes it on first read (a dispatcher uses `forward` instead); a
   * record whose data does not decode throws `CloudEventDecodeError` here.
   */
  readonly event: CloudEvent<unknown>;
  /** When the log stored it (ms since epoch): the basis of lag in seconds. */
  timestamp: number;
  /** What forwarding needs, when the log has it without decoding the event (the Kafka log does). */
  readonly forward?: ForwardView | undefined;
  /**
   * Set when the stored record is not a valid CloudEvent, so it can never be delivered (reading `event`
   * throws this error). Such records are still handed over, so that a subscriber can commit past them.
   */
  readonly invalid?: Error | undefined;
}

/**
 * A stored event ready to forward: its context attributes as strings (what filters read) and the event as
 * an HTTP binary-mode message, without `knativebrokerttl` (the broker's loop guard stays inside it).
 */
export interface ForwardView {
  attributes: Record<string, string>;
  message: HttpMessage;
}

export interface SubscribeOptions {
  /** Consumer group: `knative-trigger-<namespace>-<trigger>`. A recreated Trigger resumes it. */
  groupId: string;
  /**
   * Where a group with no committed position starts (annotation `tributary.dev/initial-offset`): the log
   * start, its end, or the first event stored at or after a time (the end when there is none).
   */
  initialOffset: 'earliest' | 'latest' | Date;
  /**
   * Called with records in log order per partition. The log fetches the next records only after the
   * returned promise resolves, so a dispatcher that is at its in-flight limit applies backpressure by
   * not resolving yet. Resolving does NOT commit: progress is committed only through `commit`.
   */
  onRecords: (records: LogRecord[]) => Promise<void>;
}

export interface LogSubscription {
  /**
   * Commits progress for a partition: every record below `nextOffset` is done (delivered or
   * dead-lettered). The dispatcher calls it only with contiguous progress, so a crash redelivers
   * exactly the unfinished records.
   */
  commit(partition: number, nextOffset: string): Promise<void>;
  /** Stops consuming; uncommitted records are redelivered to the next subscriber of the group. */
  close(): Promise<void>;
}

export interface PartitionLag {
  partition: number;
  /** Records stored but not yet committed by the group. */
  events: number;
  /** Age of the oldest uncommitted record in seconds (0 when caught up). */
  seconds: number;
}

/** What `replay` is asked: where to move the group back to, and whether to only compute it. */
export interface ReplayOptions {
  /** The log start, or the first event stored at or after this time. */
  from: 'earliest' | Date;
  /** Compute and return the plan, move nothing. */
  dryRun?: boolean;
}

export interface BrokerLog {
  readonly kind: 'kafka' | 'postgres';
  /** Creates the broker's storage if missing (topic / rows). Idempotent. */
  ensureBroker(broker: BrokerRef): Promise<void>;
  /** Whether the broker's storage exists (topic / row); creates nothing. */
  hasBroker(broker: BrokerRef): Promise<boolean>;
  /** Appends events in order; resolves only once all of them are durable (acks=all / committed tx). */
  append(broker: BrokerRef, events: CloudEvent<unknown>[]): Promise<void>;
  subscribe(broker: BrokerRef, options: SubscribeOptions): Promise<LogSubscription>;
  /** Lag of a consumer group, per partition. */
  lag(broker: BrokerRef, groupId: string): Promise<PartitionLag[]>;
  /**
   * Forgets the groups whose id starts with `prefix`, older than `minAgeSeconds` (default 60), whose
   * consumer is gone: short-lived groups (tails) whose process died before it could delete them. Returns how
   * many were removed. On Postgres such a group holds back retention; on Kafka its offsets expire by
   * themselves (`offsets.retention.minutes`) and nothing is done.
   */
  sweepAbandonedGroups(prefix: string, minAgeSeconds?: number): Promise<number>;
  /**
   * Forgets a consumer group and its committed positions (a group that does not exist is fine). Its
   * subscriptions must be closed first: Kafka refuses to delete a group with members (retried briefly).
   * On Postgres a forgotten group no longer holds back retention.
   */
  deleteGroup(broker: BrokerRef, groupId: string): Promise<void>;
  /**
   * Moves one consumer group (a Trigger) back to a point of the log, leaving every other group alone. A
   * running subscription of the group picks the new position up: records it already handed over may still
   * finish, every record from the new position on is handed over again, and nothing after it is skipped.
   * Fails with `BROKER_NOT_FOUND` (404) when the broker has no storage, and on Kafka with `GROUP_ACTIVE`
   * (409, retriable) when the group's consumers run in another process.
   */
  replay(broker: BrokerRef, groupId: string, options: ReplayOptions): Promise<ReplayResult>;
  close(): Promise<void>;
}
