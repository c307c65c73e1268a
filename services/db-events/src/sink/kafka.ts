/**
 * Kafka sink: writes straight to the broker's topic (`knative-broker-<namespace>-<broker>`) in the
 * CloudEvents Kafka binding's binary mode, `partitionkey` as the record key, acks=all, idempotent producer —
 * the layout the Knative Kafka Broker reads (DESIGN.md §4).
 */
import { assertKafkaCompatible, javaCompatiblePartitioner, toKafkaMessage } from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';
import { Kafka, logLevel as KafkaLogLevel, type Message, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { chunkBySize, type Sink } from './sink.js';

export interface KafkaSinkOptions {
  brokers: string[];
  topic: string;
  clientId?: string;
  /**
   * Largest request we build, in bytes of keys + values + headers. Default 900 KiB: under the broker's
   * default `message.max.bytes` (1 MiB) even when a whole request lands in one partition's record batch.
   */
  maxRequestBytes?: number;
  logger?: Logger;
}

function messageSize(m: Message): number {
  let n = (m.key as Buffer | null)?.length ?? 0;
  n += (m.value as Buffer | null)?.length ?? 0;
  for (const k in m.headers) n += k.length + ((m.headers[k] as Buffer).length ?? 0) + 8;
  return n + 32;
}

export class KafkaSink implements Sink {
  readonly kind = 'kafka';
  readonly ordered = true;
  /** The last call's produce step; each call's produce runs after it. */
  private tail: Promise<void> = Promise.resolve();
  private readonly producer: Producer;
  private connected: Promise<void> | undefined;
  private verified: Promise<void> | undefined;

  constructor(private readonly options: KafkaSinkOptions) {
    const log = options.logger?.child({ component: 'kafka' });
    const kafka = new Kafka({
      clientId: options.clientId ?? 'tributary-db-events',
      brokers: options.brokers,
      logLevel: KafkaLogLevel.WARN,
      logCreator:
        () =>
        ({ level, log: entry }) => {
          const { message, ...rest } = entry;
          if (level <= KafkaLogLevel.ERROR) log?.error(rest, message);
          else log?.warn(rest, message);
        },
    });
    // Idempotent with one request in flight: no duplicates from producer retries and order kept per partition.
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: javaCompatiblePartitioner, // the Java client's key -> partition, without Long math
    });
  }

  /**
   * Refuses to go on (KAFKA_INCOMPATIBLE, not retriable) when a broker cannot take the requests of this
   * kafkajs build, naming the API, instead of failing each produce request later. Checked once.
   */
  verify(): Promise<void> {
    this.verified ??= assertKafkaCompatible(this.options.brokers, {
      clientId: this.options.clientId ?? 'tributary-db-events',
    }).catch((err: unknown) => {
      this.verified = undefined;
      throw err;
    });
    return this.verified;
  }

  async connect(): Promise<void> {
    this.connected ??= this.verify()
      .then(() => this.producer.connect())
      .catch((err: unknown) => {
        this.connected = undefined;
        throw err;
      });
    await this.connected;
  }

  /**
   * Ordered (sink.ts): a batch is encoded at once, while the one before it may still be at the broker, and
   * produced only after that one is accepted; if it failed, this one fails unsent. Never two `producer.send`
   * at once: kafkajs' idempotent producer serialises requests per broker with a lock, but a request that fails
   * gives its sequence numbers back and a send waiting on the lock would take them (a reorder, or a batch the
   * broker drops as a duplicate) before the failed one is retried.
   */
  send(events: readonly CloudEvent<unknown>[]): Promise<void> {
    let messages: Message[] = [];
    let unencodable: unknown;
    try {
      messages = events.map((e) => {
        const r = toKafkaMessage(e);
        return { key: r.key, value: r.value, headers: r.headers };
      });
    } catch (err) {
      unencodable = err ?? new Error('unencodable event'); // fails in its place in the chain, failing the rest
    }
    const run = this.tail.then(() => {
      if (unencodable !== undefined) throw unencodable;
      return this.produce(messages);
    });
    this.tail = run;
    run.catch(() => {
      if (this.tail === run) this.tail = Promise.resolve(); // the chain is empty: the next call starts afresh
    });
    return run;
  }

  private async produce(messages: Message[]): Promise<void> {
    await this.connect();
    for (const chunk of chunkBySize(messages, messageSize, this.options.maxRequestBytes ?? 900 * 1024)) {
      await this.producer.send({ topic: this.options.topic, acks: -1, messages: chunk });
    }
  }

  async close(): Promise<void> {
    if (this.connected) await this.producer.disconnect();
  }
}
