// Conformance of the two broker log backends, against real Kafka and real Postgres: the same suite runs
// on both, plus a few backend-specific tests at the end.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { type CloudEvent, createCloudEvent, createLogger, inLockedTransaction } from '@tributary/shared';
import { testEnv, uniqueName, uniqueSchema } from '@tributary/testing';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { createKafkaLog } from './kafka/kafka-log.js';
import { brokerTopic } from './names.js';
import { createPostgresLog, type PostgresBrokerLog } from './postgres/postgres-log.js';
import { collect } from './testing.js';
import type { BrokerLog, BrokerRef } from './types.js';

jest.setTimeout(90_000);

const logger = createLogger({ name: 'log-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

interface Backend {
  name: 'kafka' | 'postgres';
  create(): BrokerLog;
}

const backends: Backend[] = [
  {
    name: 'kafka',
    create: () => createKafkaLog({ brokers: testEnv().kafkaBrokers, partitions: 3, logger }),
  },
  {
    name: 'postgres',
    create: () =>
      createPostgresLog({
        databaseUrl: testEnv().databaseUrl,
        schema: uniqueSchema('broker'),
        logger,
        pollIntervalMs: 250,
      }),
  },
];

function newBroker(): BrokerRef {
  return { namespace: 'default', name: uniqueName('b').replace(/_/g, '-') };
}

function event(i: number, extra: Record<string, unknown> = {}): CloudEvent<unknown> {
  return createCloudEvent({
    type: 'dev.tributary.test',
    source: '/test',
    id: `e-${i}`,
    data: { i },
    ...extra,
  });
}

const ids = (records: { event: CloudEvent<unknown> }[]) => records.map((r) => r.event.id);

describe.each(backends)('$name broker log', ({ name, create }) => {
  let log: BrokerLog;

  beforeAll(() => {
    log = create();
  });
  afterAll(async () => {
    await log.close();
  });

  it(`reports kind ${name}`, () => {
    expect(log.kind).toBe(name);
  });

  it('stores events durably and hands them back intact, in append order per key', async () => {
    const broker = newBroker();
    await log.ensureBroker(broker);
    await log.ensureBroker(broker); // idempotent
    const sent = [
      createCloudEvent({
        type: 'dev.tributary.test',
        source: '/test/intact',
        id: 'a-1',
        subject: 'sub ject',
        time: '2024-05-06T07:08:09.123Z',
        datacontenttype: 'application/json',
        data: { hello: 'wörld', n: 1, nested: { list: [1, 2] } },
        partitionkey: 'k1',
        myext: 'x y',
      }),
      createCloudEvent({
        type: 'dev.tributary.test',
        source: '/test/intact',
        id: 'a-2',
        datacontenttype: 'application/octet-stream',
        data: new Uint8Array([0, 1, 2, 255]),
        partitionkey: 'k1',
      }),
      createCloudEvent({ type: 'dev.tributary.test', source: '/test/intact', id: 'a-3', partitionkey: 'k1' }),
    ];
    await log.append(broker, sent);
    const c = await collect(log, broker, uniqueName('g'), { initialOffset: 'earliest' });
    const got = await c.waitFor(3);
    await c.close();
    expect(ids(got)).toEqual(['a-1', 'a-2', 'a-3']);
    const [a, b, d] = got.map((r) => r.event);
    expect(a).toMatchObject({
      type: 'dev.tributary.test',
      source: '/test/intact',
      subject: 'sub ject',
      time: '2024-05-06T07:08:09.123Z',
      datacontenttype: 'application/json',
      data: { hello: 'wörld', n: 1, nested: { list: [1, 2] } },
      partitionkey: 'k1',
      myext: 'x y',
    });
    expect(Buffer.from(b!.data as Uint8Array)).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(d!.data).toBeUndefined();
    expect(got.every((r) => r.key === 'k1')).toBe(true);
    // One key -> one partition, offsets increasing.
    expect(new Set(got.map((r) => r.partition)).size).toBe(1);
    const offsets = got.map((r) => BigInt(r.offset));
    expect(offsets[0]! < offsets[1]! && offsets[1]! < offsets[2]!).toBe(true);
    for (const r of got) expect(r.timestamp).toBeGreaterThan(Date.now() - 120_000);
  });

  it('keeps per-key order under concurrent appends', async () => {
    const broker = newBroker();
    const keys = ['a', 'b', 'c', 'd'];
    const perKey = 30;
    // Each key's events are appended one call after another; the keys run concurrently.
    await Promise.all(
      keys.map(async (k) => {
        for (let i = 0; i < perKey; i++) {
          await log.append(broker, [event(i, { id: `${k}-${i}`, partitionkey: k })]);
        }
      }),
    );
    const c = await collect(log, broker, uniqueName('g'), { initialOffset: 'earliest' });
    const got = await c.waitFor(keys.length * perKey);
    await c.close();
    expect(got).toHaveLength(keys.length * perKey);
    for (const k of keys) {
      expect(got.filter((r) => r.key === k).map((r) => r.event.id)).toEqual(
        Array.from({ length: perKey }, (_, i) => `${k}-${i}`),
      );
    }
  });

  it('starts a new group at the end with initialOffset latest, at the start with earliest', async () => {
    const broker = newBroker();
    await log.append(broker, [event(1), event(2)]);
    const latest = await collect(log, broker, uniqueName('latest'), { initialOffset: 'latest' });
    const earliest = await collect(log, broker, uniqueName('earliest'), { initialOffset: 'earliest' });
    await log.append(broker, [event(3)]);
    expect(ids(await latest.waitFor(1))).toEqual(['e-3']);
    expect(ids(await earliest.waitFor(3)).sort()).toEqual(['e-1', 'e-2', 'e-3']);
    await Promise.all([latest.close(), earliest.close()]);
    expect(latest.records).toHaveLength(1);
  });

  it('resumes an existing group from its committed offset and redelivers what was not committed', async () => {
    const broker = newBroker();
    const group = uniqueName('g');
    const all = Array.from({ length: 6 }, (_, i) => event(i, { partitionkey: 'one' }));
    await log.append(broker, all);

    const first = await collect(log, broker, group, { initialOffset: 'earliest' });
    const got = await first.waitFor(6);
    // Commit the first four only.
    const fourth = got[3]!;
    await first.subscription.commit(fourth.partition, String(BigInt(fourth.offset) + 1n));
    await first.close();

    // Same group again; initialOffset no longer matters: it resumes at e-4.
    const second = await collect(log, broker, group, { initialOffset: 'latest' });
    expect(ids(await second.waitFor(2))).toEqual(['e-4', 'e-5']);
    await second.close();
    expect(ids(second.records)).toEqual(['e-4', 'e-5']);
  });

  it('deleteGroup forgets a group: recreated, it starts over from its initial offset', async () => {
    const broker = newBroker();
    const group = uniqueName('g');
    await log.append(
      broker,
      [0, 1, 2].map((i) => event(i, { partitionkey: 'one' })),
    );
    const first = await collect(log, broker, group, { initialOffset: 'earliest', autoCommit: true });
    await first.waitFor(3);
    await first.close();
    await log.deleteGroup(broker, group);
    await log.deleteGroup(broker, group); // already gone: fine
    await log.deleteGroup(broker, uniqueName('never-existed'));
    // Committed up to e-2 before the delete; the recreated group reads from the start again.
    const again = await collect(log, broker, group, { initialOffset: 'earliest' });
    expect(ids(await again.waitFor(3))).toEqual(['e-0', 'e-1', 'e-2']);
    await again.close();
  });

  it('keeps the initial latest position of a new group across a restart before any commit', async () => {
    const broker = newBroker();
    const group = uniqueName('g');
    await log.append(broker, [event(0, { partitionkey: 'x' })]);
    const first = await collect(log, broker, group, { initialOffset: 'latest' });
    await log.append(broker, [event(1, { partitionkey: 'x' })]);
    expect(ids(await first.waitFor(1))).toEqual(['e-1']);
    await first.close(); // nothing committed
    await log.append(broker, [event(2, { partitionkey: 'x' })]);
    const second = await collect(log, broker, group, { initialOffset: 'latest' });
    expect(ids(await second.waitFor(2))).toEqual(['e-1', 'e-2']);
    await second.close();
  });

  it('reports lag in events and seconds per partition', async () => {
    const broker = newBroker();
    const group = uniqueName('g');
    await log.ensureBroker(broker);
    const c = await collect(log, broker, group, { initialOffset: 'latest' });
    const caughtUp = await log.lag(broker, group);
    expect(caughtUp.length).toBeGreaterThan(0);
    expect(caughtUp.map((p) => [p.events, p.seconds])).toEqual(caughtUp.map(() => [0, 0]));

    await log.append(broker, [event(1, { partitionkey: 'k' }), event(2, { partitionkey: 'k' })]);
    const got = await c.waitFor(2);
    await new Promise((r) => setTimeout(r, 1100));
    const behind = await log.lag(broker, group);
    const partition = got[0]!.partition;
    const p = behind.find((l) => l.partition === partition)!;
    expect(p.events).toBe(2);
    expect(p.seconds).toBeGreaterThanOrEqual(1);
    expect(behind.filter((l) => l.partition !== partition).every((l) => l.events === 0)).toBe(true);

    await c.subscription.commit(partition, String(BigInt(got[1]!.offset) + 1n));
    const after = await log.lag(broker, group);
    expect(after.map((p) => [p.events, p.seconds])).toEqual(after.map(() => [0, 0]));
    await c.close();
  });

  it('delivers events appended while a subscriber waits (wake-up without polling delay)', async () => {
    const broker = newBroker();
    const c = await collect(log, broker, uniqueName('g'), { initialOffset: 'latest', autoCommit: true });
    for (let i = 0; i < 5; i++) {
      await log.append(broker, [event(i, { partitionkey: 'w' })]);
      await c.waitFor(i + 1);
    }
    await c.close();
    expect(ids(c.records)).toEqual(['e-0', 'e-1', 'e-2', 'e-3', 'e-4']);
  });

  it('coalesces concurrent appends and keeps every event', async () => {
    const broker = newBroker();
    const n = 400;
    await Promise.all(Array.from({ length: n }, (_, i) => log.append(broker, [event(i)])));
    const c = await collect(log, broker, uniqueName('g'), { initialOffset: 'earliest' });
    const got = await c.waitFor(n);
    await c.close();
    expect(new Set(ids(got)).size).toBe(n);
  });
});

describe('kafka broker log specifics', () => {
  const env = testEnv();
  let log: BrokerLog;
  let admin: kafkajs.Admin;

  beforeAll(async () => {
    log = createKafkaLog({ brokers: env.kafkaBrokers, partitions: 4, logger });
    admin = new kafkajs.Kafka({ brokers: env.kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
  });
  afterAll(async () => {
    await log.close();
    await admin.disconnect();
  });

  it('creates the Knative topic knative-broker-<ns>-<broker> with the configured partitions', async () => {
    const broker = newBroker();
    await log.ensureBroker(broker);
    const topic = `knative-broker-${broker.namespace}-${broker.name}`;
    expect(brokerTopic(broker)).toBe(topic);
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]?.partitions).toHaveLength(4);
  });

  it('writes binary-mode records with ce_ headers and partitionkey as the key', async () => {
    const broker = newBroker();
    await log.append(broker, [event(7, { partitionkey: 'the-key' })]);
    const offsets = await admin.fetchTopicOffsets(brokerTopic(broker));
    const withRecord = offsets.filter((o) => o.high !== o.low);
    expect(withRecord).toHaveLength(1);
    const consumer = new kafkajs.Kafka({
      brokers: env.kafkaBrokers,
      logLevel: kafkajs.logLevel.NOTHING,
    }).consumer({
      groupId: uniqueName('raw'),
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [brokerTopic(broker)], fromBeginning: true });
    const message = await new Promise<kafkajs.KafkaMessage>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => resolve(message) });
    });
    await consumer.disconnect();
    expect(message.key?.toString()).toBe('the-key');
    expect(message.headers?.ce_id?.toString()).toBe('e-7');
    expect(message.headers?.ce_specversion?.toString()).toBe('1.0');
    expect(message.headers?.ce_type?.toString()).toBe('dev.tributary.test');
    expect(message.headers?.['content-type']?.toString()).toBe('application/json');
    expect(JSON.parse(message.value!.toString())).toEqual({ i: 7 });
  });
});

describe('postgres broker log specifics', () => {
  const env = testEnv();
  let log: PostgresBrokerLog;
  let schema: string;
  let pool: pg.Pool;

  beforeAll(() => {
    schema = uniqueSchema('broker');
    log = createPostgresLog({
      databaseUrl: env.databaseUrl,
      schema,
      logger,
      pollIntervalMs: 250,
      retention: { minAgeMs: 0 }, // consumed events go at the next run (the default keeps them a day)
    });
    pool = new pg.Pool({ connectionString: env.databaseUrl, max: 4 });
  });
  afterAll(async () => {
    await log.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await pool.end();
  });

  it('sweeps abandoned groups of a prefix, never one whose subscriber is alive', async () => {
    const broker = newBroker();
    await log.append(broker, [event(0)]);
    const dead = `sweep-${uniqueName('dead')}`;
    const alive = `sweep-${uniqueName('alive')}`;
    const young = `sweep-${uniqueName('young')}`;
    const gone = await collect(log, broker, dead, { initialOffset: 'earliest' });
    await gone.waitFor(1);
    await gone.close(); // its row stays, as when a process dies
    const live = await collect(log, broker, alive, { initialOffset: 'earliest' });
    await live.waitFor(1);
    const recent = await collect(log, broker, young, { initialOffset: 'earliest' });
    await recent.waitFor(1);
    await recent.close();
    await pool.query(
      `UPDATE ${schema}.subscriptions SET created_at = now() - interval '2 minutes' WHERE group_id = ANY($1)`,
      [[dead, alive]],
    );
    expect(await log.sweepAbandonedGroups('sweep-', 60)).toBe(1);
    const { rows } = await pool.query<{ group_id: string }>(
      `SELECT group_id FROM ${schema}.subscriptions WHERE starts_with(group_id, 'sweep-') ORDER BY group_id`,
    );
    expect(rows.map((r) => r.group_id).sort()).toEqual([alive, young].sort());
    await live.close();
  });

  it('inLockedTransaction serialises callers of one key and rolls back a failure', async () => {
    const key = uniqueName('lock');
    const table = `${schema}_lock_${uniqueName('t')}`;
    await pool.query(`CREATE TABLE ${table} (n integer)`);
    const order: string[] = [];
    const slow = inLockedTransaction(pool, key, async (client) => {
      order.push('a:start');
      await new Promise((r) => setTimeout(r, 300));
      await client.query(`INSERT INTO ${table} VALUES (1)`);
      order.push('a:end');
    });
    await new Promise((r) => setTimeout(r, 50));
    const second = inLockedTransaction(pool, key, async () => {
      order.push('b');
    });
    await Promise.all([slow, second]);
    expect(order).toEqual(['a:start', 'a:end', 'b']);
    await expect(
      inLockedTransaction(pool, key, async (client) => {
        await client.query(`INSERT INTO ${table} VALUES (2)`);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const { rows } = await pool.query<{ n: number }>(`SELECT n FROM ${table} ORDER BY n`);
    expect(rows.map((r) => r.n)).toEqual([1]);
    expect(pool.totalCount - pool.idleCount).toBe(0); // every client went back to the pool
    await pool.query(`DROP TABLE ${table}`);
  });

  it('creates its schema with idempotent migrations', async () => {
    await log.migrate();
    const again = createPostgresLog({ databaseUrl: env.databaseUrl, schema, logger });
    await again.migrate();
    await again.close();
    const { rows } = await pool.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
      [schema],
    );
    expect(rows.map((r) => r.table_name)).toEqual(['brokers', 'events', 'migrations', 'subscriptions']);
  });

  // Regression: with a sequence-assigned offset, concurrent transactions can commit out of offset order
  // and a reader that already moved past offset N+1 never sees N. Offsets are assigned under the broker
  // row's lock, held until commit, so a live reader sees every event exactly in offset order.
  it('regression: concurrent appenders never make a live reader skip an event', async () => {
    const broker = newBroker();
    // Many small transactions at once: every append is its own transaction (maxItems 1), 8 in flight per
    // writer, 4 writers with their own pools.
    const writers = Array.from({ length: 4 }, () =>
      createPostgresLog({
        databaseUrl: env.databaseUrl,
        schema,
        logger,
        batching: { maxInFlight: 8, maxItems: 1 },
      }),
    );
    const c = await collect(log, broker, uniqueName('live'), { initialOffset: 'earliest', autoCommit: true });
    const perWriter = 200;
    await Promise.all(
      writers.map((w, wi) =>
        Promise.all(
          Array.from({ length: 8 }, async (_, loop) => {
            for (let i = loop; i < perWriter; i += 8)
              await w.append(broker, [event(i, { id: `w${wi}-${i}` })]);
          }),
        ),
      ),
    );
    const got = await c.waitFor(writers.length * perWriter);
    await c.close();
    await Promise.all(writers.map((w) => w.close()));
    expect(new Set(ids(got)).size).toBe(writers.length * perWriter);
    const offsets = got.map((r) => Number(r.offset));
    expect(offsets).toEqual(Array.from({ length: offsets.length }, (_, i) => i));
  });

  it('lets one subscriber of a group consume at a time; another takes over from the committed offset', async () => {
    const broker = newBroker();
    const group = uniqueName('g');
    await log.append(broker, [event(1), event(2)]);
    const a = await collect(log, broker, group, { initialOffset: 'earliest' });
    await a.waitFor(2);
    await a.subscription.commit(0, String(BigInt(a.records[0]!.offset) + 1n));
    const b = await collect(log, broker, group, { initialOffset: 'earliest' });
    await log.append(broker, [event(3)]);
    await a.waitFor(3);
    expect(b.records).toHaveLength(0);
    await a.close();
    // b takes over at the committed offset: e-2 is redelivered, then e-3.
    expect(ids(await b.waitFor(2))).toEqual(['e-2', 'e-3']);
    await b.close();
  });

  it('a subscription whose session is killed reconnects and resumes from the committed offset', async () => {
    const broker = newBroker();
    const group = uniqueName('g');
    const c = await collect(log, broker, group, { initialOffset: 'earliest' });
    await log.append(broker, [event(1), event(2)]);
    await c.waitFor(2);
    await c.subscription.commit(0, String(BigInt(c.records[0]!.offset) + 1n));
    const killed = await pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`,
      [`tributary ${group}`.slice(0, 63)],
    );
    expect(killed.rowCount).toBe(1);
    await log.append(broker, [event(3)]);
    // e-2 was not committed: redelivered after the reconnect, then e-3.
    const got = await c.waitFor(4);
    await c.close();
    expect(ids(got)).toEqual(['e-1', 'e-2', 'e-2', 'e-3']);
  });

  it('retention deletes events every subscription has committed, and keeps the rest', async () => {
    const broker = newBroker();
    await log.append(broker, [event(0), event(1), event(2), event(3)]);
    const fast = await collect(log, broker, uniqueName('fast'), { initialOffset: 'earliest' });
    const slow = await collect(log, broker, uniqueName('slow'), { initialOffset: 'earliest' });
    await fast.waitFor(4);
    await slow.waitFor(4);
    await fast.subscription.commit(0, String(BigInt(fast.records[3]!.offset) + 1n));
    await slow.subscription.commit(0, String(BigInt(slow.records[1]!.offset) + 1n));
    await log.runRetention();
    const count = async () =>
      (
        await pool.query(
          `SELECT count(*)::int AS n FROM ${schema}.events e JOIN ${schema}.brokers b ON b.id = e.broker_id
           WHERE b.name = $1`,
          [broker.name],
        )
      ).rows[0].n as number;
    expect(await count()).toBe(2);
    await slow.subscription.commit(0, String(BigInt(slow.records[3]!.offset) + 1n));
    await log.runRetention();
    expect(await count()).toBe(0);
    await Promise.all([fast.close(), slow.close()]);
  });

  it('retention keeps events of a broker without subscriptions until maxAge', async () => {
    const broker = newBroker();
    await log.append(broker, [event(0)]);
    await log.runRetention();
    const late = await collect(log, broker, uniqueName('late'), { initialOffset: 'earliest' });
    expect(ids(await late.waitFor(1))).toEqual(['e-0']);
    await late.close();
  });
});
