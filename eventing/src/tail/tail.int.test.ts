// tailEvents against real Kafka and real Postgres: the same suite on both broker log backends.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { type CloudEvent, createCloudEvent, createLogger } from '@tributary/shared';
import { testEnv, uniqueName, uniqueSchema, waitFor } from '@tributary/testing';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { createKafkaLog } from '../log/kafka/kafka-log.js';
import { createPostgresLog } from '../log/postgres/postgres-log.js';
import type { BrokerLog, BrokerRef } from '../log/types.js';
import { TAIL_GROUP_PREFIX, TailFilterError, tailEvents, UnknownBrokerError } from './tail.js';

jest.setTimeout(120_000);

const logger = createLogger({ name: 'tail-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const pgSchema = uniqueSchema('tail');

interface Backend {
  name: 'kafka' | 'postgres';
  create(): BrokerLog;
  /** Consumer groups of the broker whose names start with the tail prefix. */
  tailGroups(broker: BrokerRef): Promise<string[]>;
}

const backends: Backend[] = [
  {
    name: 'kafka',
    create: () => createKafkaLog({ brokers: testEnv().kafkaBrokers, partitions: 2, logger }),
    async tailGroups() {
      const kafka = new kafkajs.Kafka({
        brokers: testEnv().kafkaBrokers,
        logLevel: kafkajs.logLevel.NOTHING,
      });
      const admin = kafka.admin();
      await admin.connect();
      try {
        const { groups } = await admin.listGroups();
        return groups.map((g) => g.groupId).filter((g) => g.startsWith(TAIL_GROUP_PREFIX));
      } finally {
        await admin.disconnect();
      }
    },
  },
  {
    name: 'postgres',
    create: () =>
      createPostgresLog({
        databaseUrl: testEnv().databaseUrl,
        schema: pgSchema,
        logger,
        pollIntervalMs: 250,
        retention: { intervalMs: 0 },
      }),
    async tailGroups(broker) {
      const client = new pg.Client({ connectionString: testEnv().databaseUrl });
      await client.connect();
      try {
        const { rows } = await client.query<{ group_id: string }>(
          `SELECT s.group_id FROM ${pgSchema}.subscriptions s JOIN ${pgSchema}.brokers b ON b.id = s.broker_id
            WHERE b.namespace = $1 AND b.name = $2 AND s.group_id LIKE 'tributary-tail-%'`,
          [broker.namespace, broker.name],
        );
        return rows.map((r) => r.group_id);
      } finally {
        await client.end();
      }
    },
  },
];

function newBroker(): BrokerRef {
  return { namespace: 'default', name: uniqueName('tail').replace(/_/g, '-') };
}

function event(id: string, extra: Record<string, unknown> = {}): CloudEvent<unknown> {
  return createCloudEvent({ type: 'dev.tributary.test', source: '/tail', id, data: { id }, ...extra });
}

/** Reads `n` events from the iterator. */
async function take(it: AsyncIterator<CloudEvent<unknown>>, n: number): Promise<CloudEvent<unknown>[]> {
  const out: CloudEvent<unknown>[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

describe.each(backends)('tailEvents on the $name log', ({ create, tailGroups, name }) => {
  let log: BrokerLog;
  beforeAll(() => {
    log = create();
  });
  afterAll(async () => {
    await log.close();
  });

  it('yields events appended after it started, filtered by CESQL, and not the older ones', async () => {
    const broker = newBroker();
    await log.ensureBroker(broker);
    await log.append(broker, [event('before', { color: 'red' })]);
    const ac = new AbortController();
    const it = await tailEvents({ log, broker, filter: "color = 'red'", signal: ac.signal });
    await log.append(broker, [
      event('a1', { color: 'red' }),
      event('a2', { color: 'blue' }),
      event('a3', { color: 'red', partitionkey: 'x' }),
    ]);
    const got = await take(it, 2);
    expect(got.map((e) => e.id).sort()).toEqual(['a1', 'a3']);
    expect(got.find((e) => e.id === 'a1')?.data).toEqual({ id: 'a1' });
    ac.abort();
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  it('from earliest replays the stored log', async () => {
    const broker = newBroker();
    await log.ensureBroker(broker);
    await log.append(broker, [event('old-1'), event('old-2')]);
    const it = await tailEvents({ log, broker, from: 'earliest' });
    const got = await take(it, 2);
    expect(got.map((e) => e.id).sort()).toEqual(['old-1', 'old-2']);
    await it.return?.();
  });

  it('removes its ephemeral consumer group when closed', async () => {
    const broker = newBroker();
    await log.ensureBroker(broker);
    const ac = new AbortController();
    const it = await tailEvents({ log, broker, signal: ac.signal });
    await log.append(broker, [event('g1')]);
    expect((await take(it, 1))[0]?.id).toBe('g1');
    if (name === 'postgres') expect(await tailGroups(broker)).toHaveLength(1);
    const before = await tailGroups(broker);
    ac.abort();
    await it.next(); // ends once cleaned up
    await waitFor(async () => {
      const after = await tailGroups(broker);
      return before.every((g) => !after.includes(g));
    });
    expect((await tailGroups(broker)).filter((g) => before.includes(g))).toEqual([]);
  });

  it('a `for await` loop that breaks out cleans up too', async () => {
    const broker = newBroker();
    await log.ensureBroker(broker);
    const it = await tailEvents({ log, broker });
    await log.append(broker, [event('b1'), event('b2')]);
    const seen: string[] = [];
    for await (const e of it) {
      seen.push(e.id);
      break;
    }
    expect(seen).toHaveLength(1);
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  it('regression: tailing an unknown broker is a 404 error and creates nothing', async () => {
    const broker = { namespace: '../..', name: "';--" };
    const err = await tailEvents({ log, broker }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownBrokerError);
    expect(err).toMatchObject({ statusCode: 404, code: 'BROKER_NOT_FOUND' });
    expect(await log.hasBroker(broker)).toBe(false);
    const fresh = newBroker();
    expect(await log.hasBroker(fresh)).toBe(false);
    await log.ensureBroker(fresh);
    expect(await log.hasBroker(fresh)).toBe(true);
  });

  it('refuses an invalid filter with the caret excerpt, before subscribing', async () => {
    const broker = newBroker();
    const err = await tailEvents({ log, broker, filter: "type = 'a' AND (" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TailFilterError);
    const e = err as TailFilterError;
    expect(e.excerpt).toBe("type = 'a' AND (\n                ^");
    expect(e.message).toContain('invalid CESQL filter');
    expect(e.column).toBe(17);
  });
});
