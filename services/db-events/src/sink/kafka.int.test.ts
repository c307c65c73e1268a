/** The Kafka sink against a real Kafka (KRaft): binary mode, partitionkey as key, the broker topic layout. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fromKafkaMessage } from '@tributary/shared';
import { testEnv, uniqueName } from '@tributary/testing';
import type { CloudEvent } from 'cloudevents';
import { Kafka, logLevel } from 'kafkajs';
import {
  confirmedFlush,
  lsnValue,
  startEngine,
  type TestDb,
  type TestEngine,
  testDb,
  waitFor,
} from '../test-support/harness.js';
import { KafkaSink } from './kafka.js';

describe('db-events Kafka sink (Kafka + Postgres 17)', () => {
  let t: TestDb;
  let eng: TestEngine;
  let sink: KafkaSink;
  const topic = `knative-broker-${uniqueName('ns')}-default`;
  const kafka = new Kafka({
    clientId: 'db-events-test',
    brokers: testEnv().kafkaBrokers,
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: uniqueName('g') });
  const received: { event: CloudEvent<unknown>; key: string | null; partition: number; headers: string[] }[] =
    [];

  beforeAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    await admin.disconnect();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        received.push({
          event: fromKafkaMessage({
            key: message.key,
            value: message.value,
            headers: message.headers as never,
          }),
          key: message.key?.toString() ?? null,
          partition,
          headers: Object.keys(message.headers ?? {}),
        });
      },
    });
    t = await testDb('dbe_kafka');
    await t.db.query(`CREATE TABLE ${t.schema}.orders (id int PRIMARY KEY, total numeric, meta jsonb)`);
    sink = new KafkaSink({ brokers: testEnv().kafkaBrokers, topic });
    eng = await startEngine(t, sink, { tables: [`${t.schema}.orders`] });
  }, 60_000);

  afterAll(async () => {
    await eng?.engine.stop();
    await sink?.close();
    await consumer.disconnect();
    await t?.cleanup();
  }, 30_000);

  it('writes binary-mode records keyed by partitionkey, acknowledged with acks=all', async () => {
    const s = t.schema;
    await t.db.query(
      `INSERT INTO ${s}.orders SELECT g, g * 1.5, jsonb_build_object('g', g) FROM generate_series(1, 50) g`,
    );
    await t.db.query(`UPDATE ${s}.orders SET total = 0 WHERE id = 7`);
    await t.db.query("SELECT pg_logical_emit_message(true, 'tributary', $1)", [
      JSON.stringify({ type: 'com.example.shipped', subject: 'o7', data: { id: 7 } }),
    ]);
    const lastCommit = (await t.db.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string;
    await waitFor(() => received.length === 52, { timeoutMs: 30_000, message: '52 records' });
    const insert = received.find(
      (r) => r.event.subject === '7' && r.event.type === 'dev.tributary.db.row.inserted',
    );
    expect(insert?.key).toBe(`${s}.orders/7`);
    expect(insert?.headers).toEqual(
      expect.arrayContaining(['ce_id', 'ce_source', 'ce_type', 'ce_partitionkey', 'content-type']),
    );
    expect(insert?.event.data).toMatchObject({
      type: 'INSERT',
      record: { id: 7, total: '10.5', meta: { g: 7 } },
    });
    // Same key, same partition: the update follows the insert.
    const update = received.find((r) => r.event.type === 'dev.tributary.db.row.updated');
    expect(update?.partition).toBe(insert?.partition);
    const shipped = received.find((r) => r.event.type === 'com.example.shipped');
    expect(shipped?.event.data).toEqual({ id: 7 });
    expect(shipped?.key).toBeNull();
    expect(new Set(received.map((r) => r.event.id)).size).toBe(52);
    // Acknowledged only after Kafka accepted: the slot has moved past the last commit.
    await waitFor(async () => lsnValue(await confirmedFlush(t)) >= lsnValue(lastCommit), {
      message: 'confirmed_flush_lsn reaches the last commit',
    });
    expect(eng.engine.acknowledgedLsn).toBeGreaterThanOrEqual(lsnValue(lastCommit));
  });
});
