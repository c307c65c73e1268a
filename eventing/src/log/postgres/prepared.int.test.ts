// The Postgres log's append, fetch and commit are named (prepared once per connection, see postgres-log.ts).
// A statement name is per connection, so two logs of different schemas on one pool must not clash, and a
// schema dropped and made again under a live connection must still be written to.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createCloudEvent, createLogger } from '@tributary/shared';
import { testEnv, uniqueName, uniqueSchema } from '@tributary/testing';
import pg from 'pg';
import { collect } from '../testing.js';
import { createPostgresLog } from './postgres-log.js';

const logger = createLogger({ name: 'prepared-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const event = (source: string, i: number) =>
  createCloudEvent({ type: 'dev.tributary.test', source, id: `e-${i}`, data: { i } });

describe('postgres log prepared statements', () => {
  const env = testEnv();
  let pool: pg.Pool;
  const schemas = [uniqueSchema('prep_a'), uniqueSchema('prep_b')];

  beforeAll(() => {
    // One connection: both logs' statements live side by side on it.
    pool = new pg.Pool({ connectionString: env.databaseUrl, max: 1 });
  });
  afterAll(async () => {
    for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => {});
    await pool.end();
  });

  it('two schemas on one connection each get their own records, read and committed', async () => {
    const logs = schemas.map((schema) => createPostgresLog({ pool, schema, logger, pollIntervalMs: 100 }));
    const broker = { namespace: 'default', name: uniqueName('prep') };
    try {
      for (let i = 0; i < 6; i++) {
        // Alternating, so each log's named append runs after the other's on the same connection.
        for (const [n, log] of logs.entries()) await log.append(broker, [event(`/log/${n}`, i)]);
      }
      for (const [n, log] of logs.entries()) {
        const group = `knative-trigger-default-${uniqueName('g')}`;
        const c = await collect(log, broker, group, { initialOffset: 'earliest', autoCommit: true });
        const records = await c.waitFor(6);
        expect(records.map((r) => r.event.source)).toEqual(Array(6).fill(`/log/${n}`));
        expect(records.map((r) => r.event.id)).toEqual(['e-0', 'e-1', 'e-2', 'e-3', 'e-4', 'e-5']);
        await c.close();
        const { rows } = await pool.query<{ committed_offset: string }>(
          `SELECT committed_offset FROM ${schemas[n]}.subscriptions WHERE group_id = $1`,
          [group],
        );
        expect(rows[0]?.committed_offset).toBe('6');
      }
    } finally {
      for (const log of logs) await log.close();
    }
  });

  it('appends after its schema was dropped and made again under the same connection', async () => {
    const schema = schemas[0]!;
    const broker = { namespace: 'default', name: uniqueName('again') };
    const first = createPostgresLog({ pool, schema, logger });
    await first.append(broker, [event('/again', 0)]);
    await first.close();
    await pool.query(`DROP SCHEMA ${schema} CASCADE`);
    const second = createPostgresLog({ pool, schema, logger, pollIntervalMs: 100 });
    try {
      await second.append(broker, [event('/again', 1)]);
      const c = await collect(second, broker, `g-${uniqueName('g')}`, { initialOffset: 'earliest' });
      const records = await c.waitFor(1);
      expect(records.map((r) => r.event.id)).toEqual(['e-1']);
      await c.close();
    } finally {
      await second.close();
    }
  });
});
