import { assertKafkaCompatible, type Logger, TributaryError } from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';
import kafkajs, { type Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { type LogMetrics, logMetrics } from '../../metrics/log.js';
import { brokerTopic } from '../names.js';
import { withTimeout } from '../timeout.js';
import type {
  BrokerLog,
  BrokerRef,
  LogSubscription,
  PartitionLag,
  ReplayOptions,
  ReplayResult,
  SubscribeOptions,
} from '../types.js';
import { KafkaLogAdmin } from './admin.js';
import { asKafkaError } from './errors.js';
import { kafkajsLogCreator } from './logging.js';
import { DEFAULT_APPEND_TIMEOUT_MS, DEFAULT_SESSION_TIMEOUT_MS, type KafkaLogOptions } from './options.js';
import { KafkaAppender } from './producer.js';
import { KafkaReachability } from './reachability.js';
import { replayKafka } from './replay.js';
import { noDelaySocketFactory } from './socket.js';
import { KafkaSubscription } from './subscription.js';

export {
  DEFAULT_APPEND_TIMEOUT_MS,
  DEFAULT_LINGER_MS,
  DEFAULT_PARTITIONS,
  DEFAULT_REPLICATION_FACTOR,
  DEFAULT_SESSION_TIMEOUT_MS,
  DEFAULT_STARTUP_RETRY_MS,
  DEFAULT_TOPIC_MAX_MESSAGE_BYTES,
  type KafkaLogOptions,
} from './options.js';
export { flattenHeaders } from './record.js';

const { Kafka: KafkaClient, logLevel } = kafkajs;

/**
 * The Kafka broker log: one topic per broker (`knative-broker-<ns>-<name>`), CloudEvents Kafka binding in
 * binary mode with `partitionkey` as the record key, an idempotent producer with acks=all, one consumer group
 * per trigger with manually committed offsets. The layout is the Knative Kafka Broker's.
 */
export function createKafkaLog(options: KafkaLogOptions): KafkaBrokerLog {
  return new KafkaBrokerLog(options);
}

/**
 * Composes the parts: {@link KafkaLogAdmin} (topics, groups, offsets), {@link KafkaAppender} (the producer),
 * {@link KafkaSubscription} (one consumer group per trigger) and {@link KafkaReachability} (fast 503s while
 * no broker is reachable), over one kafkajs client.
 */
export class KafkaBrokerLog implements BrokerLog {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private readonly logger: Logger;
  private readonly admin: KafkaLogAdmin;
  private readonly producer: KafkaAppender;
  /** The brokers accept what kafkajs sends (checked once, before the first connection). */
  private compatible: Promise<void> | undefined;
  private readonly subscriptions = new Set<KafkaSubscription>();
  private readonly metrics: LogMetrics;
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
    this.metrics = logMetrics(options.registry ?? new Registry());
    const checkCompatible = () => this.checkCompatible();
    this.admin = new KafkaLogAdmin(this.kafka, options, this.logger, checkCompatible, () => this.closed);
    this.producer = new KafkaAppender(this.kafka, options, this.metrics, this.reachability, checkCompatible);
  }

  hasBroker(broker: BrokerRef): Promise<boolean> {
    return this.admin.hasTopic(brokerTopic(broker));
  }

  ensureBroker(broker: BrokerRef): Promise<void> {
    return this.admin.ensureTopic(brokerTopic(broker));
  }

  /** See {@link KafkaLogAdmin.retrying}. */
  private retrying<T>(what: string, step: () => Promise<T>): Promise<T> {
    return this.admin.retrying(what, step);
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
    const timeoutMs = this.options.appendTimeoutMs ?? DEFAULT_APPEND_TIMEOUT_MS;
    const ensure = this.admin.ready.has(topic)
      ? undefined
      : () => withTimeout(this.ensureBroker(broker), timeoutMs, `append to ${topic}`);
    await this.producer.append(topic, events, ensure);
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

  async subscribe(broker: BrokerRef, options: SubscribeOptions): Promise<LogSubscription> {
    if (this.closed) throw new TributaryError('broker log is closed', { code: 'LOG_CLOSED' });
    await this.ensureBroker(broker);
    const topic = brokerTopic(broker);
    const initial = await this.retrying(`read the offsets of ${options.groupId}`, async () => {
      try {
        return await this.admin.initialPositions(options.groupId, topic, options.initialOffset);
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

  deleteGroup(_broker: BrokerRef, groupId: string): Promise<void> {
    return this.admin.deleteGroup(groupId);
  }

  async replay(broker: BrokerRef, groupId: string, options: ReplayOptions): Promise<ReplayResult> {
    if (!(await this.hasBroker(broker))) {
      throw new TributaryError(`no topic ${brokerTopic(broker)} in Kafka`, {
        code: 'BROKER_NOT_FOUND',
        statusCode: 404,
        retriable: false,
      });
    }
    const topic = brokerTopic(broker);
    const local = [...this.subscriptions].filter((s) => s.groupId === groupId && s.topic === topic);
    try {
      return await replayKafka(await this.admin.connect(), topic, groupId, options, local);
    } catch (err) {
      throw asKafkaError(err, `could not replay ${groupId}`);
    }
  }

  async lag(broker: BrokerRef, groupId: string): Promise<PartitionLag[]> {
    const topic = brokerTopic(broker);
    const { committed, ends } = await this.admin.groupOffsets(groupId, topic);
    const committedBy = new Map(committed.map((p) => [p.partition, Number(p.offset)]));
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

  /**
   * Nothing to do on Kafka: a group whose consumer died holds back nothing (retention is by time/size), and
   * its committed offsets expire after `offsets.retention.minutes`.
   */
  async sweepAbandonedGroups(_prefix: string, _minAgeSeconds?: number): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.reachability.close();
    await Promise.allSettled([...this.subscriptions].map((s) => s.close()));
    // Let queued and in-flight appends finish, but not forever (Kafka may be down).
    await withTimeout(
      this.producer.idle(),
      this.options.appendTimeoutMs ?? DEFAULT_APPEND_TIMEOUT_MS,
      'close',
    ).catch(() => this.logger.warn('closing with appends still in flight'));
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }
}
