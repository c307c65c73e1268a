/**
 * The Kafka sink with several `send`s pending at once (the pipeline keeps DB_EVENTS_BATCHES_IN_FLIGHT batches at
 * the sink), against a real Kafka (KRaft): every record lands once, in call order per partition, and a batch the
 * broker refuses fails every batch sent after it without writing any of them (sink.ts, "Concurrent sends").
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fromKafkaMessage } from '@tributary/shared';
import { testEnv, uniqueName } from '@tributary/testing';
import { CloudEvent } from 'cloudevents';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { waitFor } from '../test-support/harness.js';
import { KafkaSink } from './kafka.js';

interface Got {
  batch: number;
  n: number;
  key: string;
  partition: number;
  offset: bigint;
}

const KEYS = 12;

function batchOf(batch: number, size: number, dataBytes = 0): CloudEvent<unknown>[] {
  return Array.from({ length: size }, (_, i) => {
    const n = batch * 1_000_000 + i;
    return new CloudEvent({
      specversion: '1.0',
      id: `b${batch}-${i}`,
      source: '/test/ordered',
      type: 'dev.tributary.test.ordered',
      partitionkey: `k${n % KEYS}`,
      datacontenttype: 'application/json',
      data: { batch, n, pad: 'x'.repeat(dataBytes) },
    });
  });
}

describe('Kafka sink, several sends pending (Kafka)', () => {
  const kafka = new Kafka({
    clientId: 'db-events-ordered',
    brokers: testEnv().kafkaBrokers,
    logLevel: logLevel.NOTHING,
  });
  let admin: Admin;
  const sinks: KafkaSink[] = [];

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
  });
  afterAll(async () => {
    for (const s of sinks) await s.close();
    await admin.disconnect();
  });

  async function topicWith(prefix: string, configEntries: { name: string; value: string }[] = []) {
    const topic = `knative-broker-${uniqueName(prefix)}-default`;
    await admin.createTopics({
      topics: [{ topic, numPartitions: 3, replicationFactor: 1, configEntries }],
      waitForLeaders: true,
    });
    const sink = new KafkaSink({ brokers: testEnv().kafkaBrokers, topic });
    sinks.push(sink);
    return { topic, sink };
  }

  /** Reads the topic from the start until `expected` records (or `settleMs` with nothing new). */
  async function readAll(topic: string, expected: number): Promise<Got[]> {
    const got: Got[] = [];
    const consumer = kafka.consumer({ groupId: uniqueName('g') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        const e = fromKafkaMessage({
          key: message.key,
          value: message.value,
          headers: message.headers as never,
        });
        const d = e.data as { batch: number; n: number };
        got.push({
          batch: d.batch,
          n: d.n,
          key: message.key?.toString() ?? '',
          partition,
          offset: BigInt(message.offset),
        });
      },
    });
    try {
      await waitFor(() => got.length >= expected, { timeoutMs: 30_000, message: `${expected} records` });
      await new Promise((r) => setTimeout(r, 1_000)); // anything beyond the expected would show up here
    } finally {
      await consumer.disconnect();
    }
    return got;
  }

  function expectCallOrderPerPartition(got: Got[]): void {
    const byPartition = new Map<number, Got[]>();
    for (const g of got) byPartition.set(g.partition, [...(byPartition.get(g.partition) ?? []), g]);
    for (const records of byPartition.values()) {
      records.sort((a, b) => (a.offset < b.offset ? -1 : 1));
      const ns = records.map((r) => r.n);
      expect(ns).toEqual([...ns].sort((a, b) => a - b)); // call order (batch, then position) = offset order
    }
  }

  it('writes every record of many concurrent sends once, in call order per partition', async () => {
    const { topic, sink } = await topicWith('ordered');
    const BATCHES = 40;
    const SIZE = 250;
    const settled: number[] = [];
    const sends = Array.from({ length: BATCHES }, (_, b) =>
      sink.send(batchOf(b, SIZE)).then(() => {
        settled.push(b);
      }),
    );
    await Promise.all(sends);
    // Each call is accepted only after the one before it.
    expect(settled).toEqual(Array.from({ length: BATCHES }, (_, b) => b));
    const got = await readAll(topic, BATCHES * SIZE);
    expect(got).toHaveLength(BATCHES * SIZE);
    expect(new Set(got.map((g) => g.n)).size).toBe(BATCHES * SIZE); // no duplicates
    expectCallOrderPerPartition(got);
    // Same key, same partition (the records are keyed by partitionkey).
    const partitionOfKey = new Map<string, number>();
    for (const g of got) {
      expect(partitionOfKey.get(g.key) ?? g.partition).toBe(g.partition);
      partitionOfKey.set(g.key, g.partition);
    }
  }, 90_000);

  it('a batch the broker refuses fails the sends pending after it, unwritten; the next send works', async () => {
    // The topic takes record batches up to 64 KiB: a 100 KB event is refused (MESSAGE_TOO_LARGE, not retriable).
    const { topic, sink } = await topicWith('refused', [{ name: 'max.message.bytes', value: '65536' }]);
    const outcomes = await Promise.allSettled([
      sink.send(batchOf(0, 50)),
      sink.send(batchOf(1, 50)),
      sink.send(batchOf(2, 1, 100_000)),
      sink.send(batchOf(3, 50)),
      sink.send(batchOf(4, 50)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
      'rejected',
    ]);
    // The chain is empty again: a new call starts afresh (this is what a restarted session sends first).
    await sink.send(batchOf(5, 50));
    const got = await readAll(topic, 150);
    expect(got).toHaveLength(150);
    expect([...new Set(got.map((g) => g.batch))].sort()).toEqual([0, 1, 5]);
    expect(new Set(got.map((g) => g.n)).size).toBe(150);
    expectCallOrderPerPartition(got);
  }, 90_000);

  it('an event that cannot be encoded fails its batch in its place: the sends behind it fail unwritten', async () => {
    const { topic, sink } = await topicWith('unencodable');
    const bad = batchOf(1, 10);
    bad[5] = new CloudEvent({ ...bad[5], data: { n: 10n } }); // JSON has no BigInt
    const outcomes = await Promise.allSettled([
      sink.send(batchOf(0, 50)),
      sink.send(bad),
      sink.send(batchOf(2, 50)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    await sink.send(batchOf(3, 50));
    const got = await readAll(topic, 100);
    expect([...new Set(got.map((g) => g.batch))].sort()).toEqual([0, 3]);
    expect(got).toHaveLength(100);
  }, 90_000);
});
