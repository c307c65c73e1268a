// Regression: a redrive sent its HTTP requests inside a transaction holding FOR UPDATE locks on up to 100 dead
// letters, each send taking up to the redrive timeout. Real Postgres; the "ingress" is a real HTTP server that
// holds every request until the test releases it.
import { createServer as createHttpServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createCloudEvent, createLogger } from '@tributary/shared';
import { testEnv, uniqueName, uniqueSchema, waitFor } from '@tributary/testing';
import pg from 'pg';
import { DeadLetterStore } from './store.js';

jest.setTimeout(60_000);

const logger = createLogger({ name: 'redrive-locks-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe('dead-letter redrive', () => {
  const schema = uniqueSchema('dlq_locks');
  const broker = { namespace: 'default', name: uniqueName('b').replace(/_/g, '-') };
  let held: (() => void)[] = [];
  let received = 0;
  let server: Server;
  let store: DeadLetterStore;
  let pool: pg.Pool;

  beforeAll(async () => {
    server = createHttpServer((req, res) => {
      req.resume();
      received++;
      held.push(() => res.writeHead(202).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    store = new DeadLetterStore({
      databaseUrl: testEnv().databaseUrl,
      schema,
      logger,
      ingress: `http://127.0.0.1:${port}`,
    });
    pool = new pg.Pool({ connectionString: testEnv().databaseUrl, max: 2 });
    for (let i = 0; i < 3; i++) {
      await store.store(
        broker,
        createCloudEvent({ type: 'com.example.failed', source: '/redrive', id: `e-${i}`, data: { i } }),
      );
    }
  });

  afterAll(async () => {
    for (const h of held) h();
    await store.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('regression: holds no row lock or transaction while it sends', async () => {
    const all = store.redriveAll({ namespace: broker.namespace, broker: broker.name });
    await waitFor(() => received === 1, { timeoutMs: 10_000 });
    // The first send is in flight: every row must be lockable at once, and nothing idles in a transaction.
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const locked = await client.query(`SELECT id FROM ${schema}.dead_letters FOR UPDATE NOWAIT`);
      expect(locked.rowCount).toBe(3);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    const idle = await pool.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND state = 'idle in transaction' AND pid <> pg_backend_pid()
          AND query ILIKE '%${schema}.dead_letters%'`,
    );
    expect(idle.rows[0].n).toBe(0);

    // A concurrent redrive of a claimed dead letter does not send it a second time.
    const { rows } = await pool.query<{ id: string }>(
      `SELECT id::text FROM ${schema}.dead_letters ORDER BY id`,
    );
    const second = await store.redrive(rows[0]!.id);
    expect(second).toMatchObject({ ok: false, inProgress: true });

    // Release the sends one by one; each dead letter is sent exactly once.
    for (let n = 1; n <= 3; n++) {
      await waitFor(() => held.length > 0, { timeoutMs: 10_000 });
      const release = held;
      held = [];
      for (const h of release) h();
    }
    const result = await all;
    expect(result).toMatchObject({ redriven: 3, failed: 0 });
    expect(received).toBe(3);
    const after = await pool.query(
      `SELECT count(*)::int AS n FROM ${schema}.dead_letters
        WHERE redriven_at IS NOT NULL AND redrive_claimed_until IS NULL`,
    );
    expect(after.rows[0].n).toBe(3);
  });
});
