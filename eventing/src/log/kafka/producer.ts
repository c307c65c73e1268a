import { javaCompatiblePartitioner, toKafkaMessage } from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';
import type { Kafka, Message, Producer } from 'kafkajs';
import type { LogMetrics } from '../../metrics/log.js';
import { Batcher } from '../batcher.js';
import { logTimeoutError } from '../timeout.js';
import { asKafkaError } from './errors.js';
import { DEFAULT_APPEND_TIMEOUT_MS, DEFAULT_LINGER_MS, type KafkaLogOptions } from './options.js';
import type { KafkaReachability } from './reachability.js';

interface Entry {
  topic: string;
  message: Message;
}

/**
 * The Kafka log's write side: events in the CloudEvents Kafka binding (binary mode, `partitionkey` as the
 * record key), concurrent appends coalesced into one produce request, an idempotent producer with acks=all.
 */
export class KafkaAppender {
  private readonly producer: Producer;
  private connected: Promise<void> | undefined;
  private readonly batcher: Batcher<Entry>;

  constructor(
    kafka: Kafka,
    private readonly options: KafkaLogOptions,
    private readonly metrics: LogMetrics,
    private readonly reachability: KafkaReachability,
    /** The brokers accept what kafkajs sends (checked before connecting). */
    private readonly checkCompatible: () => Promise<void>,
  ) {
    // Idempotent: kafkajs then sends acks=-1 produce requests with sequence numbers, retries transient
    // errors without duplicating or reordering, and keeps one produce request in flight per broker.
    this.producer = kafka.producer({
      idempotent: true,
      allowAutoTopicCreation: false,
      createPartitioner: javaCompatiblePartitioner, // murmur2, the Java client's key -> partition
    });
    const timeoutMs = options.appendTimeoutMs ?? DEFAULT_APPEND_TIMEOUT_MS;
    this.batcher = new Batcher<Entry>(
      (entries) => this.write(entries),
      { lingerMs: options.lingerMs ?? DEFAULT_LINGER_MS, ...options.batching },
      () => logTimeoutError('append to Kafka', timeoutMs),
    );
  }

  /**
   * Encodes `events` as records of `topic`, waits for `beforeSend` (the topic's creation), then queues them
   * for the next produce request; resolves when Kafka acknowledged them.
   */
  async append(
    topic: string,
    events: CloudEvent<unknown>[],
    beforeSend: (() => Promise<void>) | undefined,
  ): Promise<void> {
    let bytes = 0;
    const entries = events.map((event) => {
      const m = toKafkaMessage(event);
      bytes += (m.value?.length ?? 0) + 64 * Object.keys(m.headers).length;
      const message: Message = { key: m.key, value: m.value, headers: m.headers };
      if (m.timestamp !== undefined) message.timestamp = String(m.timestamp);
      return { topic, message };
    });
    if (beforeSend) await beforeSend();
    await this.batcher.add(entries, bytes, this.options.appendTimeoutMs ?? DEFAULT_APPEND_TIMEOUT_MS);
  }

  private async write(entries: Entry[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const e of entries) {
      const list = byTopic.get(e.topic);
      if (list) list.push(e.message);
      else byTopic.set(e.topic, [e.message]);
    }
    try {
      await this.connect();
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

  private connect(): Promise<void> {
    if (!this.connected) {
      this.connected = this.checkCompatible().then(() => this.producer.connect());
      this.connected.catch(() => {
        this.connected = undefined;
      });
    }
    return this.connected;
  }

  /** Resolves once queued and in-flight appends have finished. */
  idle(): Promise<void> {
    return this.batcher.idle();
  }

  async disconnect(): Promise<void> {
    if (this.connected) await this.producer.disconnect();
  }
}
