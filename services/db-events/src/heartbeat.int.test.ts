/**
 * Heartbeats against a real Postgres 17. Regression: with DB_EVENTS_HEARTBEAT_MS=0 db-events still wrote a
 * `tributary-heartbeat` logical message on every connect, although 0 means off.
 *
 * Each case runs in a database of its own, watched by a test_decoding slot: logical decoding only sees its own
 * database's WAL, so other tests' heartbeats in the shared server cannot show up here.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { createLogger } from '@tributary/shared';
import { testEnv, uniqueName } from '@tributary/testing';
import pg from 'pg';
import { Registry } from 'prom-client';
import { HEARTBEAT_PREFIX } from './decoding/changes.js';
import { createMetrics } from './metrics.js';
import { DbEvents } from './pipeline.js';
import { MemorySink, waitFor } from './test-support/harness.js';

function databaseUrl(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

describe('db-events heartbeats', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** Runs db-events with `heartbeatMs` on a new database; returns the heartbeat messages its WAL holds. */
  async function heartbeatsWritten(heartbeatMs: number): Promise<string[]> {
    const admin = new pg.Client({ connectionString: testEnv().databaseUrl });
    await admin.connect();
    const database = uniqueName('dbe_hb');
    await admin.query(`CREATE DATABASE ${database}`);
    const url = databaseUrl(testEnv().databaseUrl, database);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const watcher = `${database}_watch`;
    let engine: DbEvents | undefined;
    cleanups.push(async () => {
      await engine?.stop();
      await pool.end();
      await db.query(
        'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1',
        [database],
      );
      await db.end();
      await admin.query(`DROP DATABASE ${database} WITH (FORCE)`);
      await admin.end();
    });
    await db.query('CREATE TABLE t (id int PRIMARY KEY, v text)');
    await db.query("SELECT pg_create_logical_replication_slot($1, 'test_decoding')", [watcher]);
    const sink = new MemorySink();
    engine = new DbEvents({
      connectionString: url,
      slot: database,
      publication: database,
      tables: [],
      sink,
      pool,
      logger: createLogger({ name: 'db-events-test', level: process.env.TEST_LOG_LEVEL ?? 'warn' }),
      metrics: createMetrics(new Registry()),
      heartbeatMs,
    });
    engine.start();
    await engine.waitUntilConnected();
    // A change that makes the round trip proves the session is live, well after any heartbeat on connect.
    await db.query("INSERT INTO t VALUES (1, 'x')");
    await waitFor(() => sink.events.length === 1, { message: 'the insert delivered' });
    await engine.stop();
    engine = undefined;
    // A heartbeat is non-transactional, so nothing flushes its WAL at once; a commit flushes everything before it.
    await db.query("SELECT pg_logical_emit_message(true, 'tributary-test-flush', '')");
    const { rows } = await db.query<{ data: string }>(
      'SELECT data FROM pg_logical_slot_peek_changes($1, NULL, NULL)',
      [watcher],
    );
    return rows.map((r) => r.data).filter((d) => d.includes(`prefix: ${HEARTBEAT_PREFIX}`));
  }

  it('DB_EVENTS_HEARTBEAT_MS=0 writes no heartbeat, not even on connect', async () => {
    expect(await heartbeatsWritten(0)).toEqual([]);
  });

  it('with heartbeats on, one is written on connect (the check above can see them)', async () => {
    const written = await heartbeatsWritten(60_000);
    expect(written.length).toBeGreaterThanOrEqual(1);
    expect(written[0]).toContain('transactional: 0');
  });
});
