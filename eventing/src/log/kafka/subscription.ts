import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@tributary/shared';
import type { Consumer, KafkaMessage } from 'kafkajs';
import { invalidRecord } from '../invalid.js';
import { PendingTimestamps } from '../pending-timestamps.js';
import type { LogRecord, LogSubscription, SubscribeOptions } from '../types.js';
import { asKafkaError } from './errors.js';
import { KafkaLogRecord } from './record.js';
import { RewindGate } from './replay.js';

export class KafkaSubscription implements LogSubscription {
  readonly pending = new PendingTimestamps();
  private consumer: Consumer;
  private closing: Promise<void> | undefined;
  private readonly stop = new AbortController();
  /** Commit of the initial positions of newly assigned partitions; records wait for it. */
  private initialCommit: Promise<void> = Promise.resolve();
  /** Partition commits collected in this turn of the event loop, sent together. */
  private commitBatch: { offsets: Map<number, string>; sent: Promise<void> } | undefined;
  private restarting: Promise<void> | undefined;
  /** Replay: the member id and assignment of the current generation, and partitions being rewound. */
  memberId: string | undefined;
  assigned: number[] = [];
  private readonly rewinds = new RewindGate();
  private lastCommit: Promise<unknown> = Promise.resolve();

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
      this.memberId = payload.memberId;
      this.assigned = assigned;
      this.rewinds.reset();
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
        if (records.length === 0 || isStale()) return;
        for (const r of records) this.pending.add(r.partition, Number(r.offset), r.timestamp);
        this.rewinds.open(batch.partition);
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
    if (this.rewinds.blocks(partition)) return Promise.resolve(); // progress from before a replay
    let batch = this.commitBatch;
    if (!batch) {
      const offsets = new Map<number, string>();
      batch = {
        offsets,
        sent: new Promise<void>((resolve) => queueMicrotask(resolve)).then(() => this.commitNow(offsets)),
      };
      this.commitBatch = batch;
      this.lastCommit = batch.sent.catch(() => {});
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

  /** Replay while running: see replay.ts. */
  rewind(targets: Map<number, string>): Promise<void> {
    return this.rewinds.rewind(this.consumer, this.topic, targets, () => this.lastCommit);
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
