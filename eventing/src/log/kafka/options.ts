import type { Logger } from '@tributary/shared';
import type { Registry } from 'prom-client';
import type { BatcherOptions } from '../batcher.js';

/**
 * Partitions of a new broker topic. Knative's `kafka-broker-config` ConfigMap ships
 * `default.topic.partitions: "10"`, so a topic created here matches one created by the Knative Kafka Broker.
 */
export const DEFAULT_PARTITIONS = 10;
/** Replication factor of a new broker topic: 1 suits a single-node Kafka; clusters set 3 (as Knative's default). */
export const DEFAULT_REPLICATION_FACTOR = 1;
/**
 * `max.message.bytes` of a new broker topic: room for one event at the ingress' 1 MiB body limit plus its
 * `ce_` headers (Kafka's own default, 1 MiB + 12 bytes, is too tight for that).
 */
export const DEFAULT_TOPIC_MAX_MESSAGE_BYTES = 2 * 1024 * 1024;
/**
 * How long an append that finds the producer idle may wait for others to share its produce request: the
 * producer's `linger.ms`, at the Kafka 4.0 client default (KIP-1030). It lingers only when calls have lately
 * overlapped (log/batcher.ts); a lone append, or callers that each wait for their previous append, go out at
 * once, and appends queued behind a request in flight go out as soon as it completes.
 */
export const DEFAULT_LINGER_MS = 5;
/** An append that is not acknowledged within this time fails with a retriable error (the ingress answers 503). */
export const DEFAULT_APPEND_TIMEOUT_MS = 10_000;
/**
 * Consumer group session timeout. A broker process that dies without leaving its groups (SIGKILL, a lost
 * node) holds its partitions until the coordinator notices after this long, so it bounds how long delivery
 * pauses after such a crash (a clean shutdown leaves the groups at once). kafkajs has no static membership
 * (KIP-345), which would let a restarted member take its place back at once. 10 s is the Kafka 2.x client
 * default, above the coordinator's `group.min.session.timeout.ms` (6 s), and with the 3 s heartbeat leaves
 * room for two missed heartbeats; Kafka 3's 45 s default would stall delivery for 45 s after a crash.
 */
export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;
/**
 * How long a start-up step (topic creation, reading a group's offsets) retries a retriable Kafka error, e.g.
 * `NOT_LEADER_OR_FOLLOWER` right after a topic was created, before failing. The broker's start-up retries
 * the whole dispatcher start after that.
 */
export const DEFAULT_STARTUP_RETRY_MS = 30_000;

export interface KafkaLogOptions {
  /** Bootstrap servers, `host:port`. */
  brokers: string[];
  /** Partitions of topics this log creates (default {@link DEFAULT_PARTITIONS}). Existing topics are kept. */
  partitions?: number;
  replicationFactor?: number;
  /** More topic configs for topics this log creates, e.g. `{ 'retention.ms': '604800000' }`. */
  topicConfig?: Record<string, string>;
  logger: Logger;
  /** kafkajs client id (default `tributary-broker`). */
  clientId?: string;
  registry?: Registry;
  /** Coalescing of concurrent appends into one produce request. */
  batching?: BatcherOptions;
  /** `linger.ms` of appends (default {@link DEFAULT_LINGER_MS}; 0 = send at once). */
  lingerMs?: number;
  appendTimeoutMs?: number;
  /** Consumer long-poll wait when a partition has no new records (default 500 ms). */
  maxWaitTimeMs?: number;
  /** Consumer group session timeout (default {@link DEFAULT_SESSION_TIMEOUT_MS}). */
  sessionTimeoutMs?: number;
}
