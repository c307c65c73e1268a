/**
 * Crash test with the Kafka sink and two batches in flight (DB_EVENTS_BATCHES_IN_FLIGHT=2): db-events runs as a
 * child process (its real entry point) and is killed with SIGKILL again and again while a writer commits rows.
 * Afterwards the topic holds every committed row at least once, each change always with the same id, and in
 * every partition the first copies of the records are in commit order: no batch was written ahead of the one
 * before it.
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fromKafkaMessage } from '@tributary/shared';
import { testEnv, uniqueName } from '@tributary/testing';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { ensurePublication, ensureSlot } from './replication/setup.js';
import { lsnValue, type TestDb, testDb, waitFor } from './test-support/harness.js';
import { slotReleased, startDbEvents } from './test-support/process.js';

const KILLS = 5;

describe('db-events crash safety (SIGKILL, Kafka sink, two batches in flight)', () => {
  let t: TestDb;
  let child: ChildProcess | undefined;
  const topic = `knative-broker-${uniqueName('crash')}-default`;
  const kafka = new Kafka({
    clientId: 'db-events-crash',
    brokers: testEnv().kafkaBrokers,
    logLevel: logLevel.NOTHING,
  });

  beforeAll(async () => {
    t = await testDb('dbe_crashk');
    await t.db.query(`CREATE TABLE ${t.schema}.rows (id int PRIMARY KEY, v text)`);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    await admin.disconnect();
  });

  afterAll(async () => {
    child?.kill('SIGKILL');
    await t?.cleanup();
  }, 30_000);

  async function startChild(): Promise<ChildProcess> {
    const { proc } = await startDbEvents(t, {
      DB_EVENTS_TABLES: `${t.schema}.rows`,
      DB_EVENTS_HEARTBEAT_MS: '500',
      DB_EVENTS_BATCH_SIZE: '50',
      DB_EVENTS_BATCHES_IN_FLIGHT: '2',
      KAFKA_BROKERS: testEnv().kafkaBrokers.join(','),
      DB_EVENTS_KAFKA_TOPIC: topic,
    });
    return proc;
  }

  it('loses nothing, keeps ids, and keeps commit order per partition across SIGKILLs', async () => {
    const setup = { slot: t.slot, publication: t.publication, tables: [`${t.schema}.rows`] };
    await ensurePublication(t.db, setup);
    await ensureSlot(t.db, setup);
    const committed: number[] = [];
    let writing = true;
    const writer = new pg.Client({ connectionString: t.url });
    await writer.connect();
    const writerDone = (async () => {
      let next = 1;
      while (writing) {
        const n = next % 7 === 0 ? 3 : 1;
        const ids = Array.from({ length: n }, (_, i) => next + i);
        next += n;
        await writer.query(`INSERT INTO ${t.schema}.rows SELECT g, 'v' FROM unnest($1::int[]) g`, [ids]);
        committed.push(...ids);
        if (next % 50 < n) await sleep(5);
      }
    })();
    for (let k = 0; k < KILLS; k++) {
      const proc = await startChild();
      child = proc;
      await sleep(300 + Math.floor(Math.random() * 1_500));
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
      await slotReleased(t);
    }
    const proc = await startChild();
    child = proc;
    await sleep(500);
    writing = false;
    await writerDone;
    await writer.end();

    const all = new Set(committed);
    const got: {
      id: string;
      subject: string;
      lsn: bigint;
      pos: number;
      partition: number;
      offset: bigint;
    }[] = [];
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
        if (!e.type.startsWith('dev.tributary.db.row.')) return;
        got.push({
          id: e.id,
          subject: e.subject as string,
          lsn: lsnValue(e.lsn as string),
          pos: Number(e.id.slice(e.id.lastIndexOf('-') + 1)),
          partition,
          offset: BigInt(message.offset),
        });
      },
    });
    try {
      await waitFor(() => new Set(got.map((g) => Number(g.subject))).size >= all.size, {
        timeoutMs: 60_000,
        intervalMs: 200,
        message: `all ${all.size} committed rows in the topic`,
      });
    } finally {
      await consumer.disconnect();
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
      child = undefined;
    }
    const seen = new Set(got.map((g) => Number(g.subject)));
    expect([...all].filter((id) => !seen.has(id))).toEqual([]);
    // Same change, same id, every time.
    const idOf = new Map<string, string>();
    for (const g of got) {
      expect(idOf.get(g.subject) ?? g.id).toBe(g.id);
      idOf.set(g.subject, g.id);
    }
    // Per partition, in offset order, the first copy of each change comes in commit order.
    for (let p = 0; p < 3; p++) {
      const records = got.filter((g) => g.partition === p).sort((a, b) => (a.offset < b.offset ? -1 : 1));
      const firsts: { lsn: bigint; pos: number }[] = [];
      const done = new Set<string>();
      for (const r of records) {
        if (done.has(r.id)) continue;
        done.add(r.id);
        firsts.push(r);
      }
      const outOfOrder = firsts.filter((r, i) => {
        const prev = firsts[i - 1];
        return prev !== undefined && (r.lsn < prev.lsn || (r.lsn === prev.lsn && r.pos < prev.pos));
      });
      expect(outOfOrder).toEqual([]);
    }
    process.stdout.write(
      `Kafka crash test: ${all.size} committed rows, ${got.length} records, ${got.length - idOf.size} duplicates over ${KILLS} SIGKILLs\n`,
    );
  }, 300_000);
});
