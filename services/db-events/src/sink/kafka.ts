/**
 * Kafka sink: writes straight to the broker's topic (`knative-broker-<namespace>-<broker>`) in the
 * CloudEvents Kafka binding's binary mode, `partitionkey` as the record key, acks=all, idempotent producer —
 * the layout the Knative Kafka Broker reads (DESIGN.md §4).
 */
import { assertKafkaCompatible, javaCompatiblePartitioner, KafkaRecordWriter } from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';
import { Kafka, logLevel as KafkaLogLevel, type Message, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { Sink } from './sink.js';

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

/**
 * A record's bytes beyond its pre-encoded part: length (up to 5), attributes (1), timestamp delta (1) and
 * offset delta (up to 5), rounded up.
 */
const RECORD_PREFIX_BYTES = 16;

/**
 * A kafkajs message whose record is already encoded (patches/kafkajs@2.2.4.patch: the produce request copies
 * `encoded` after the record's length, attributes and deltas; `key` still picks the partition).
 */
interface PreEncodedMessage extends Message {
  encoded: Buffer;
}

export class KafkaSink implements Sink {
  readonly kind = 'kafka';
  readonly ordered = true;
  /** The last call's produce step; each call's produce runs after it. */
  private tail: Promise<void> = Promise.resolve();
  private readonly producer: Producer;
  private connected: Promise<void> | undefined;
  private verified: Promise<void> | undefined;
  /** Record buffers not in use (one per batch encoded and not yet answered: the pipeline keeps a few in flight). */
  private readonly writers: KafkaRecordWriter[] = [];

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
   * Ordered (sink.ts): a batch is encoded at once, each event's record (binary mode, `partitionkey` as key:
   * the bytes of `toKafkaMessage`) written into a reused buffer of its own, while the batch before it may still
   * be at the broker; it is produced, in requests of at most `maxRequestBytes`, only after that one is
   * accepted; if it failed, this one fails unsent. Never two `producer.send` at once: kafkajs' idempotent
   * producer serialises requests per broker with a lock, but a request that fails gives its sequence numbers
   * back and a send waiting on the lock would take them (a reorder, or a batch the broker drops as a
   * duplicate) before the failed one is retried.
   */
  send(events: readonly CloudEvent<unknown>[]): Promise<void> {
    const writer = this.writers.pop() ?? new KafkaRecordWriter();
    writer.reset(); // nothing reads its earlier records: their request was answered (or failed)
    let chunks: PreEncodedMessage[][] = [];
    let unencodable: unknown;
    try {
      chunks = this.encode(writer, events);
    } catch (err) {
      unencodable = err ?? new Error('unencodable event'); // fails in its place in the chain, failing the rest
    }
    const run = this.tail.then(() => {
      if (unencodable !== undefined) throw unencodable;
      return this.produce(chunks);
    });
    this.tail = run;
    const settled = (): void => {
      this.writers.push(writer); // its records are no longer read by anyone
      if (this.tail === run) this.tail = Promise.resolve(); // the chain is empty: the next call starts afresh
    };
    run.then(settled, settled);
    return run;
  }

  /** The batch's records, written into `writer`, in requests of at most `maxRequestBytes`. */
  private encode(writer: KafkaRecordWriter, events: readonly CloudEvent<unknown>[]): PreEncodedMessage[][] {
    const maxBytes = this.options.maxRequestBytes ?? 900 * 1024;
    const chunks: PreEncodedMessage[][] = [];
    let chunk: PreEncodedMessage[] = [];
    let bytes = 0;
    for (const event of events) {
      const { key, encoded } = writer.write(event);
      const n = encoded.length + RECORD_PREFIX_BYTES;
      if (chunk.length > 0 && bytes + n > maxBytes) {
        chunks.push(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push({ key, value: null, encoded });
      bytes += n;
    }
    if (chunk.length > 0) chunks.push(chunk);
    return chunks;
  }

  private async produce(chunks: PreEncodedMessage[][]): Promise<void> {
    await this.connect();
    for (const messages of chunks) {
      await this.producer.send({ topic: this.options.topic, acks: -1, messages });
    }
  }

  async close(): Promise<void> {
    if (this.connected) await this.producer.disconnect();
  }
}
