import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@tributary/shared';
import type { Admin, Kafka } from 'kafkajs';
import type { SubscribeOptions } from '../types.js';
import { asKafkaError, kafkaErrorType } from './errors.js';
import {
  DEFAULT_PARTITIONS,
  DEFAULT_REPLICATION_FACTOR,
  DEFAULT_STARTUP_RETRY_MS,
  DEFAULT_TOPIC_MAX_MESSAGE_BYTES,
  type KafkaLogOptions,
} from './options.js';

/** Committed offsets of a group on a topic, and the topic's partition offsets (as kafkajs returns them). */
export interface GroupOffsets {
  committed: { partition: number; offset: string }[];
  ends: { partition: number; offset: string; high: string; low: string }[];
}

/**
 * The Kafka log's admin side: one admin connection, broker topics (created once, as Knative's Kafka Broker
 * would), consumer groups and their offsets, and the retrying of start-up steps.
 */
export class KafkaLogAdmin {
  private admin: Promise<Admin> | undefined;
  private readonly ensured = new Map<string, Promise<void>>();
  /** Topics known to exist: appends to them skip the ensure step. */
  readonly ready = new Set<string>();

  constructor(
    private readonly kafka: Kafka,
    private readonly options: KafkaLogOptions,
    private readonly logger: Logger,
    /** The brokers accept what kafkajs sends (checked before connecting). */
    private readonly checkCompatible: () => Promise<void>,
    private readonly isClosed: () => boolean,
  ) {}

  async hasTopic(topic: string): Promise<boolean> {
    if (this.ready.has(topic)) return true;
    try {
      return (await (await this.connect()).listTopics()).includes(topic);
    } catch (err) {
      throw asKafkaError(err, `could not look up topic ${topic}`);
    }
  }

  ensureTopic(topic: string): Promise<void> {
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
  async retrying<T>(what: string, step: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + DEFAULT_STARTUP_RETRY_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch (err) {
        const retriable = (err as { retriable?: unknown }).retriable === true;
        if (!retriable || this.isClosed() || Date.now() >= deadline) throw err;
        const delay = Math.min(2000, 100 * 2 ** (attempt - 1));
        this.logger.warn({ err, attempt, retryInMs: delay }, `${what} failed; retrying`);
        await sleep(delay);
      }
    }
  }

  private async createTopicOnce(topic: string): Promise<void> {
    let admin: Admin;
    try {
      admin = await this.connect();
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

  /** The admin client, connected (once) after the compatibility check. */
  connect(): Promise<Admin> {
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

  /**
   * The group's committed offsets on `topic` and the topic's low/high offsets (or, `at` a time, the offsets
   * for that time as both), read together.
   */
  async groupOffsets(groupId: string, topic: string, at?: Date): Promise<GroupOffsets> {
    const admin = await this.connect();
    const [[committed], ends] = await Promise.all([
      admin.fetchOffsets({ groupId, topics: [topic] }),
      // At a time: the first offset at or after it per partition (the end offset where there is none).
      at
        ? admin
            .fetchTopicOffsetsByTimestamp(topic, at.getTime())
            .then((o) => o.map((p) => ({ ...p, high: p.offset, low: p.offset })))
        : admin.fetchTopicOffsets(topic),
    ]);
    return { committed: committed?.partitions ?? [], ends };
  }

  /**
   * Where partitions the group has never committed start, fixed now (at subscribe time) for `latest`, so
   * everything appended after `subscribe` resolves is delivered; the subscription seeks there when it is
   * assigned the partition and commits it, so the position survives a restart (as Knative's Trigger
   * controller commits a new Trigger's initial offsets). `earliest` needs nothing: the consumer then starts
   * at the log start (`fromBeginning`).
   */
  async initialPositions(
    groupId: string,
    topic: string,
    initial: SubscribeOptions['initialOffset'],
  ): Promise<Map<number, string>> {
    const positions = new Map<number, string>();
    if (initial === 'earliest') return positions;
    const { committed, ends } = await this.groupOffsets(
      groupId,
      topic,
      initial instanceof Date ? initial : undefined,
    );
    const missing = new Set(committed.filter((p) => Number(p.offset) < 0).map((p) => p.partition));
    for (const end of ends) if (missing.has(end.partition)) positions.set(end.partition, end.high);
    return positions;
  }

  async deleteGroup(groupId: string): Promise<void> {
    const admin = await this.connect();
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

  async disconnect(): Promise<void> {
    await this.admin?.then((a) => a.disconnect());
  }
}
