import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  assertKafkaCompatible,
  fromKafkaMessage,
  javaCompatiblePartitioner,
  kafkaToHttpBinary,
  type Logger,
  TributaryError,
  toKafkaMessage,
} from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';
import kafkajs, {
  type Admin,
  type Consumer,
  type IHeaders,
  type ISocketFactory,
  type Kafka,
  type KafkaMessage,
  type Message,
  type Producer,
} from 'kafkajs';
import { Registry } from 'prom-client';
import { logMetrics } from '../../metrics/log.js';
import { Batcher, type BatcherOptions } from '../batcher.js';
import { invalidRecord } from '../invalid.js';
import { brokerTopic } from '../names.js';
import { PendingTimestamps } from '../pending-timestamps.js';
import { asLogError, logTimeoutError, withTimeout } from '../timeout.js';
import type {
  BrokerLog,
  BrokerRef,
  ForwardView,
  LogRecord,
  LogSubscription,
  PartitionLag,
  SubscribeOptions,
} from '../types.js';
import { kafkajsLogCreator } from './logging.js';
import { KafkaReachability } from './reachability.js';

const { Kafka: KafkaClient, logLevel } = kafkajs;

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
 * How long an append that finds the producer idle waits for others to share its produce request: the
 * producer's `linger.ms`, at the Kafka 4.0 client default (KIP-1030). Under load, appends queued behind a
 * request in flight go out as soon as it completes, without lingering. At 1,000 events/s on 2 cores it cut
 * the publish-to-delivery p99 from 55-70 ms to 28-45 ms (fewer produce and fetch round trips).
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

interface Entry {
  topic: string;
  message: Message;
}

/**
 * The Kafka broker log: one topic per broker (`knative-broker-<ns>-<name>`), CloudEvents Kafka binding in
 * binary mode with `partitionkey` as the record key, an idempotent producer with acks=all, one consumer group
 * per trigger with manually committed offsets. The layout is the Knative Kafka Broker's.
 */
export function createKafkaLog(options: KafkaLogOptions): KafkaBrokerLog {
  return new KafkaBrokerLog(options);
}

export class KafkaBrokerLog implements BrokerLog {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private readonly logger: Logger;
  private readonly producer: Producer;
  private producerConnected: Promise<void> | undefined;
  private admin: Promise<Admin> | undefined;
  /** The brokers accept what kafkajs sends (checked once, before the first connection). */
  private compatible: Promise<void> | undefined;
  private readonly ensured = new Map<string, Promise<void>>();
  /** Topics known to exist: appends to them skip the ensure step. */
  private readonly ready = new Set<string>();
  private readonly batcher: Batcher<Entry>;
  private readonly subscriptions = new Set<KafkaSubscription>();
  private readonly metrics;
  private readonly reachability: KafkaReachability;
  private closed = false;

  constructor(private readonly options: KafkaLogOptions) {
    this.logger = options.logger.child({ component: 'kafka-log' });
    this.reachability = new KafkaReachability(options.brokers, this.logger);
    this.kafka = new KafkaClient({
      clientId: options.clientId ?? 'tributary-broker',
      brokers: options.brokers,
      logLevel: logLevel.INFO,
      logCreator: kafkajsLogCreator(this.logger),
      connectionTimeout: 3000,
      requestTimeout: 30_000,
      socketFactory: noDelaySocketFactory(this.reachability),
    });
    // Idempotent: kafkajs then sends acks=-1 produce requests with sequence numbers, retries transient
    // errors without duplicating or reordering, and keeps one produce request in flight per broker.
    this.producer = this.kafka.producer({
      idempotent: true,
      allowAutoTopicCreation: false,
      createPartitioner: javaCompatiblePartitioner, // murmur2, the Java client's key -> partition
    });
    this.metrics = logMetrics(options.registry ?? new Registry());
    const timeoutMs = options.appendTimeoutMs ?? DEFAULT_APPEND_TIMEOUT_MS;
    this.batcher = new Batcher<Entry>(
      (entries) => this.write(entries),
      { lingerMs: options.lingerMs ?? DEFAULT_LINGER_MS, ...options.batching },
      () => logTimeoutError('append to Kafka', timeoutMs),
    );
  }

  async hasBroker(broker: BrokerRef): Promise<boolean> {
    const topic = brokerTopic(broker);
    if (this.ready.has(topic)) return true;
    try {
      return (await (await this.getAdmin()).listTopics()).includes(topic);
    } catch (err) {
      throw asKafkaError(err, `could not look up topic ${topic}`);
    }
  }

  async ensureBroker(broker: BrokerRef): Promise<void> {
    const topic = brokerTopic(broker);
    let p = this.ensured.get(topic);
    if (!p) {
      p = this.createTopic(topic);
      this.ensured.set(topic, p);
      p.then(
        () => this.ready.add(topic),
        () => this.ensured.delete(topic),
      );
    }
    return p;
  }

  private createTopic(topic: string): Promise<void> {
    return this.retrying(`create topic ${topic}`, () => this.createTopicOnce(topic));
  }

  /**
   * Runs a start-up step, retrying retriable errors with backoff (100 ms doubling to 2 s) for up to
   * {@link DEFAULT_STARTUP_RETRY_MS}.
   */
  private async retrying<T>(what: string, step: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + DEFAULT_STARTUP_RETRY_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch (err) {
        const retriable = (err as { retriable?: unknown }).retriable === true;
        if (!retriable || this.closed || Date.now() >= deadline) throw err;
        const delay = Math.min(2000, 100 * 2 ** (attempt - 1));
        this.logger.warn({ err, attempt, retryInMs: delay }, `${what} failed; retrying`);
        await sleep(delay);
      }
    }
  }

  private async createTopicOnce(topic: string): Promise<void> {
    let admin: Admin;
    try {
      admin = await this.getAdmin();
    } catch (err) {
      throw asKafkaError(err, 'could not connect to Kafka');
    }
    const configEntries = Object.entries({
      'max.message.bytes': String(DEFAULT_TOPIC_MAX_MESSAGE_BYTES),
      ...this.options.topicConfig,
    }).map(([name, value]) => ({ name, value }));
    try {
      // An existing topic (a restart, or one the Knative Kafka Broker created) is used as it is; checking
      // first avoids kafkajs logging the TOPIC_ALREADY_EXISTS answer as an error.
      if ((await admin.listTopics()).includes(topic)) return;
      const created = await admin.createTopics({
        topics: [
          {
            topic,
            numPartitions: this.options.partitions ?? DEFAULT_PARTITIONS,
            replicationFactor: this.options.replicationFactor ?? DEFAULT_REPLICATION_FACTOR,
            configEntries,
          },
        ],
        waitForLeaders: true,
      });
      if (created) this.logger.info({ topic }, 'created broker topic');
    } catch (err) {
      if (kafkaErrorType(err) === 'TOPIC_ALREADY_EXISTS') return;
      throw asKafkaError(err, `could not create topic ${topic}`);
    }
  }

  async append(broker: BrokerRef, events: CloudEvent<unknown>[]): Promise<void> {
    if (this.closed)
      throw new TributaryError('broker log is closed', { code: 'LOG_CLOSED', statusCode: 503 });
    if (events.length === 0) return;
    if (this.reachability.down) {
      // The client's connections say no broker is reachable: answer now rather than after the timeout.
      throw new TributaryError('Kafka is unreachable', {
        code: 'LOG_UNAVAILABLE',
        retriable: true,
        statusCode: 503,
      });
    }
    const topic = brokerTopic(broker);
    let bytes = 0;
    const entries = events.map((event) => {
      const m = toKafkaMessage(event);
      bytes += (m.value?.length ?? 0) + 64 * Object.keys(m.headers).length;
      const message: Message = { key: m.key, value: m.value, headers: m.headers };
      if (m.timestamp !== undefined) message.timestamp = String(m.timestamp);
      return { topic, message };
    });
    const timeoutMs = this.options.appendTimeoutMs ?? DEFAULT_APPEND_TIMEOUT_MS;
    if (!this.ready.has(topic)) await withTimeout(this.ensureBroker(broker), timeoutMs, `append to ${topic}`);
    await this.batcher.add(entries, bytes, timeoutMs);
  }

  private async write(entries: Entry[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const e of entries) {
      const list = byTopic.get(e.topic);
      if (list) list.push(e.message);
      else byTopic.set(e.topic, [e.message]);
    }
    try {
      await this.connectProducer();
      await this.producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
      this.metrics.writes.inc({ backend: 'kafka', outcome: 'ok' });
      this.metrics.writeEvents.observe({ backend: 'kafka' }, entries.length);
    } catch (err) {
      this.metrics.writes.inc({ backend: 'kafka', outcome: 'error' });
      // Whatever kafkajs says while no broker is reachable (a closed connection mid-request, a coordinator
      // that moved), the write failed for want of Kafka: retriable, 503.
      if (this.reachability.down && err && typeof err === 'object') Object.assign(err, { retriable: true });
      throw asKafkaError(err, 'could not write to Kafka');
    }
  }

  /** Refuses to go on (KAFKA_INCOMPATIBLE, not retriable) when a broker cannot take kafkajs's requests. */
  private checkCompatible(): Promise<void> {
    if (!this.compatible) {
      this.compatible = assertKafkaCompatible(this.options.brokers, {
        clientId: this.options.clientId ?? 'tributary-broker',
      });
      this.compatible.catch(() => {
        this.compatible = undefined;
      });
    }
    return this.compatible;
  }

  private connectProducer(): Promise<void> {
    if (!this.producerConnected) {
      this.producerConnected = this.checkCompatible().then(() => this.producer.connect());
      this.producerConnected.catch(() => {
        this.producerConnected = undefined;
      });
    }
    return this.producerConnected;
  }

  private getAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      const p = this.checkCompatible()
        .then(() => admin.connect())
        .then(() => admin);
      this.admin = p;
      p.catch(() => {
        this.admin = undefined;
      });
    }
    return this.admin;
  }

  async subscribe(broker: BrokerRef, options: SubscribeOptions): Promise<LogSubscription> {
    if (this.closed) throw new TributaryError('broker log is closed', { code: 'LOG_CLOSED' });
    await this.ensureBroker(broker);
    const topic = brokerTopic(broker);
    const initial = await this.retrying(`read the offsets of ${options.groupId}`, async () => {
      try {
        return await this.initialPositions(options.groupId, topic, options.initialOffset);
      } catch (err) {
        throw asKafkaError(err, `could not read the offsets of ${options.groupId}`);
      }
    });
    const createConsumer = () =>
      this.kafka.consumer({
        groupId: options.groupId,
        allowAutoTopicCreation: false,
        maxWaitTimeInMs: this.options.maxWaitTimeMs ?? 500,
        sessionTimeout: this.options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
        heartbeatInterval: 3000,
      });
    const sub = new KafkaSubscription(
      createConsumer,
      topic,
      options,
      initial,
      this.logger,
      () => {
        this.subscriptions.delete(sub);
      },
      () => this.metrics.undecodable.inc({ backend: 'kafka', group: options.groupId }),
      (restarted) =>
        this.metrics.consumerCrashes.inc({ group: options.groupId, restart: restarted ? 'kafkajs' : 'log' }),
    );
    try {
      await sub.start();
    } catch (err) {
      await sub.close().catch(() => {});
      throw asKafkaError(err, `could not start consuming as ${options.groupId}`);
    }
    this.subscriptions.add(sub);
    return sub;
  }

  /**
   * Where partitions the group has never committed start, fixed now (at subscribe time) for `latest`, so
   * everything appended after `subscribe` resolves is delivered; the subscription seeks there when it is
   * assigned the partition and commits it, so the position survives a restart (as Knative's Trigger
   * controller commits a new Trigger's initial offsets). `earliest` needs nothing: the consumer then starts
   * at the log start (`fromBeginning`).
   */
  private async initialPositions(
    groupId: string,
    topic: string,
    initial: 'earliest' | 'latest',
  ): Promise<Map<number, string>> {
    const positions = new Map<number, string>();
    if (initial === 'earliest') return positions;
    const admin = await this.getAdmin();
    const [[committed], ends] = await Promise.all([
      admin.fetchOffsets({ groupId, topics: [topic] }),
      admin.fetchTopicOffsets(topic),
    ]);
    const missing = new Set(
      (committed?.partitions ?? []).filter((p) => Number(p.offset) < 0).map((p) => p.partition),
    );
    for (const end of ends) if (missing.has(end.partition)) positions.set(end.partition, end.high);
    return positions;
  }

  async deleteGroup(_broker: BrokerRef, groupId: string): Promise<void> {
    const admin = await this.getAdmin();
    // A group is empty only once its last consumer has left, which the coordinator learns a moment after
    // the disconnect; Kafka refuses to delete a non-empty group, so retry briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.deleteGroups([groupId]);
        return;
      } catch (err) {
        const type = (err as { groups?: { error?: { type?: string } }[] }).groups?.[0]?.error?.type;
        if (type === 'GROUP_ID_NOT_FOUND') return;
        if (attempt >= 5) throw asKafkaError(err, `could not delete consumer group ${groupId}`);
        await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
      }
    }
  }

  async lag(broker: BrokerRef, groupId: string): Promise<PartitionLag[]> {
    const topic = brokerTopic(broker);
    const admin = await this.getAdmin();
    const [[committed], ends] = await Promise.all([
      admin.fetchOffsets({ groupId, topics: [topic] }),
      admin.fetchTopicOffsets(topic),
    ]);
    const committedBy = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    const tracker = [...this.subscriptions].find((s) => s.groupId === groupId && s.topic === topic)?.pending;
    const now = Date.now();
    return ends
      .map((end) => {
        const high = Number(end.high);
        const low = Number(end.low);
        const c = committedBy.get(end.partition) ?? -1;
        // A partition whose offsets are not known yet (-1) counts as empty.
        const start = Math.max(c < 0 ? low : Math.max(c, low), 0);
        const events = Math.max(0, high - start);
        const oldest = events > 0 ? tracker?.oldestFrom(end.partition, start) : undefined;
        return {
          partition: end.partition,
          events,
          seconds: oldest === undefined ? 0 : Math.max(0, (now - oldest) / 1000),
        };
      })
      .sort((a, b) => a.partition - b.partition);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.reachability.close();
    await Promise.allSettled([...this.subscriptions].map((s) => s.close()));
    // Let queued and in-flight appends finish, but not forever (Kafka may be down).
    await withTimeout(
      this.batcher.idle(),
      this.options.appendTimeoutMs ?? DEFAULT_APPEND_TIMEOUT_MS,
      'close',
    ).catch(() => this.logger.warn('closing with appends still in flight'));
    await Promise.allSettled([
      this.producerConnected ? this.producer.disconnect() : Promise.resolve(),
      this.admin?.then((a) => a.disconnect()),
    ]);
  }
}

class KafkaSubscription implements LogSubscription {
  readonly pending = new PendingTimestamps();
  private consumer: Consumer;
  private closing: Promise<void> | undefined;
  private readonly stop = new AbortController();
  /** Commit of the initial positions of newly assigned partitions; records wait for it. */
  private initialCommit: Promise<void> = Promise.resolve();
  /** Partition commits collected in this turn of the event loop, sent together. */
  private commitBatch: { offsets: Map<number, string>; sent: Promise<void> } | undefined;
  private restarting: Promise<void> | undefined;

  constructor(
    private readonly createConsumer: () => Consumer,
    readonly topic: string,
    private readonly options: SubscribeOptions,
    private readonly initial: Map<number, string>,
    private readonly logger: Logger,
    private readonly onClose: () => void,
    private readonly onUndecodable: () => void,
    private readonly onCrash: (restartedByKafkajs: boolean) => void,
  ) {
    this.consumer = createConsumer();
  }

  get groupId(): string {
    return this.options.groupId;
  }

  async start(): Promise<void> {
    const consumer = this.consumer;
    // GROUP_JOIN is emitted synchronously after the assignment and before the first fetch, so the seek
    // applies to that fetch.
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const assigned = payload.memberAssignment[this.topic] ?? [];
      const seeks = assigned
        .filter((p) => this.initial.has(p))
        .map((partition) => ({ topic: this.topic, partition, offset: this.initial.get(partition)! }));
      if (seeks.length === 0) return;
      for (const s of seeks) consumer.seek(s);
      // kafkajs drops commits until its runner is marked running, which happens right after the join
      // resolves: commit on the next turn of the event loop.
      this.initialCommit = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => consumer.commitOffsets(seeks))
        .then(
          () => {
            for (const s of seeks) this.initial.delete(s.partition);
          },
          (err: unknown) =>
            this.logger.warn({ err, groupId: this.groupId }, 'could not commit initial offsets'),
        );
    });
    // kafkajs restarts a consumer after a retriable error, but one that crashes on anything else (an error
    // it does not know, a bug in a handler) just stops, silently. Say so, and start a new one.
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.onCrash(payload.restart);
      if (payload.restart) {
        this.logger.warn(
          { err: payload.error, groupId: this.groupId },
          'Kafka consumer crashed; kafkajs restarts it',
        );
        return;
      }
      this.logger.error(
        { err: payload.error, groupId: this.groupId },
        'Kafka consumer crashed and stopped; starting a new one',
      );
      this.restarting ??= this.restart(consumer).finally(() => {
        this.restarting = undefined;
      });
    });
    await consumer.connect();
    // fromBeginning applies to partitions without a committed offset (earliest); latest ones are sought.
    await consumer.subscribe({
      topics: [this.topic],
      fromBeginning: this.options.initialOffset === 'earliest',
    });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale()) return;
        const records: LogRecord[] = batch.messages.map((m) => this.decode(batch.partition, m));
        await this.initialCommit;
        if (records.length === 0) return;
        for (const r of records) this.pending.add(r.partition, Number(r.offset), r.timestamp);
        // The dispatcher may hold the promise to apply backpressure: keep the group membership alive.
        const beat = setInterval(() => {
          heartbeat().catch(() => {});
        }, 3000);
        try {
          await this.options.onRecords(records);
        } finally {
          clearInterval(beat);
        }
      },
    });
  }

  /**
   * Replaces a consumer kafkajs gave up on, with backoff (1 s doubling to 5 s: an attempt is one connect, and
   * a long wait would delay delivery after Kafka is back) until one starts.
   */
  private async restart(crashed: Consumer): Promise<void> {
    await crashed.disconnect().catch(() => {});
    for (let attempt = 1; !this.stop.signal.aborted; attempt++) {
      try {
        await sleep(Math.min(5000, 1000 * 2 ** (attempt - 1)), undefined, { signal: this.stop.signal });
      } catch {
        return; // closing
      }
      this.consumer = this.createConsumer();
      try {
        await this.start();
        this.logger.info({ groupId: this.groupId, attempt }, 'Kafka consumer restarted');
        return;
      } catch (err) {
        this.logger.warn({ err, groupId: this.groupId, attempt }, 'restarting the Kafka consumer failed');
        await this.consumer.disconnect().catch(() => {});
      }
    }
  }

  /** A record that is not a CloudEvent comes back marked `invalid`, so the subscriber commits past it. */
  private decode(partition: number, m: KafkaMessage): LogRecord {
    try {
      return new KafkaLogRecord(partition, m);
    } catch (err) {
      this.onUndecodable();
      this.logger.debug(
        { err, topic: this.topic, partition, offset: m.offset, groupId: this.groupId },
        'a record that is not a CloudEvent',
      );
      return invalidRecord(
        partition,
        m.offset,
        m.key ? m.key.toString('utf8') : null,
        Number(m.timestamp),
        err,
      );
    }
  }

  /**
   * Commits of several partitions requested in the same turn of the event loop go out as one OffsetCommit
   * request (the dispatcher commits every partition that moved at once). One request per partition was up
   * to ten requests per commit round on the consumer's connection, each queued in front of the next fetch
   * and each a write to `__consumer_offsets` on the broker.
   */
  commit(partition: number, nextOffset: string): Promise<void> {
    let batch = this.commitBatch;
    if (!batch) {
      const offsets = new Map<number, string>();
      batch = {
        offsets,
        sent: new Promise<void>((resolve) => queueMicrotask(resolve)).then(() => this.commitNow(offsets)),
      };
      this.commitBatch = batch;
    }
    batch.offsets.set(partition, nextOffset);
    return batch.sent;
  }

  private async commitNow(offsets: Map<number, string>): Promise<void> {
    if (this.commitBatch?.offsets === offsets) this.commitBatch = undefined;
    const list = [...offsets].map(([partition, offset]) => ({ topic: this.topic, partition, offset }));
    try {
      await this.consumer.commitOffsets(list);
    } catch (err) {
      const what = list.map((o) => `${o.partition}@${o.offset}`).join(', ');
      throw asKafkaError(err, `could not commit ${this.groupId} ${this.topic}/${what}`);
    }
    for (const o of list) this.pending.commit(o.partition, Number(o.offset));
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stop.abort();
      try {
        await this.restarting;
        await this.consumer.disconnect();
      } finally {
        this.onClose();
      }
    })();
    return this.closing;
  }
}

/**
 * kafkajs' socket factory plus TCP_NODELAY, as the Java client sets on every broker connection. Without it,
 * Nagle's algorithm holds a small request (a fetch, an offset commit) while an earlier one on the same
 * connection is unacknowledged, which adds up to a delayed-ACK interval (40 ms on Linux) to delivery.
 * Connection outcomes go to `reachability` (fast 503s while no broker is reachable).
 */
function noDelaySocketFactory(reachability: KafkaReachability): ISocketFactory {
  return ({ host, port, onConnect }) => {
    const address = `${host}:${port}`;
    const socket = net.connect({ host, port, noDelay: true }, () => {
      reachability.connected(address);
      onConnect();
    });
    socket.on('error', (err) => reachability.failed(address, err));
    socket.setKeepAlive(true, 60_000);
    return socket;
  };
}

/** Headers the dispatcher never forwards: the broker's loop guard (the MT broker filter deletes it too). */
const NOT_FORWARDED = new Set(['knativebrokerttl']);

/**
 * A consumed record. Its attributes are validated and its HTTP form built up front (all a dispatcher
 * needs); the CloudEvent, data decoding included, is built only when something reads `event`.
 */
class KafkaLogRecord implements LogRecord {
  readonly offset: string;
  readonly key: string | null;
  readonly timestamp: number;
  readonly forward: ForwardView;
  private decoded: CloudEvent<unknown> | undefined;
  private readonly input: { key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer> };

  constructor(
    readonly partition: number,
    m: KafkaMessage,
  ) {
    this.offset = m.offset;
    this.key = m.key ? m.key.toString('utf8') : null;
    this.timestamp = Number(m.timestamp);
    this.input = { key: m.key, value: m.value, headers: flattenHeaders(m.headers) };
    this.forward = kafkaToHttpBinary(this.input, NOT_FORWARDED);
  }

  get event(): CloudEvent<unknown> {
    this.decoded ??= fromKafkaMessage(this.input);
    return this.decoded;
  }
}

/** One value per header name; a repeated header counts with its last value, as in Knative (`lastHeader`). */
export function flattenHeaders(headers: IHeaders | undefined): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  if (!headers) return out;
  for (const [name, value] of Object.entries(headers)) {
    const v = Array.isArray(value) ? value[value.length - 1] : value;
    if (v === undefined) continue;
    out[name] = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  }
  return out;
}

function kafkaErrorType(err: unknown): string | undefined {
  if (err && typeof err === 'object') {
    const e = err as { type?: unknown; errors?: unknown[] };
    if (typeof e.type === 'string') return e.type;
    if (Array.isArray(e.errors) && e.errors.length > 0) return kafkaErrorType(e.errors[0]);
  }
  return undefined;
}

/**
 * kafkajs errors that mean "Kafka is unreachable or slow", which a retry can fix even when kafkajs itself
 * gave up (`KafkaJSNumberOfRetriesExceeded` is marked non-retriable).
 */
const UNAVAILABLE = new Set([
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSTimeout',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSGroupCoordinatorNotFound',
]);

function asKafkaError(err: unknown, message: string) {
  if (unavailable(err) && err && typeof err === 'object') {
    return asLogError(Object.assign(err, { retriable: true }), message);
  }
  return asLogError(err, message);
}

/** True when the error, or one it was caused by, says Kafka is unreachable or slow. */
function unavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    if (UNAVAILABLE.has((e as { name?: string }).name ?? '')) return true;
    e =
      (e as { cause?: unknown; originalError?: unknown }).cause ??
      (e as { originalError?: unknown }).originalError;
  }
  return false;
}
