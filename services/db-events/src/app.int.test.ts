/** The assembled service: readiness follows the replication stream; metrics include the slot's health. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger } from '@tributary/shared';
import { buildApp, type DbEventsApp } from './app.js';
import { loadEnv } from './env.js';
import { type TestDb, testDb, waitFor } from './test-support/harness.js';

describe('db-events app (Postgres 17, HTTP sink)', () => {
  let t: TestDb;
  let app: DbEventsApp;
  let server: Server;
  const batches: { type: string; subject?: string }[][] = [];

  beforeAll(async () => {
    t = await testDb('dbe_app');
    await t.db.query(`CREATE TABLE ${t.schema}.t (id int PRIMARY KEY)`);
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        batches.push(JSON.parse(Buffer.concat(chunks).toString()));
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const env = loadEnv({
      DATABASE_URL: t.url,
      DB_EVENTS_SLOT: t.slot,
      DB_EVENTS_PUBLICATION: t.publication,
      DB_EVENTS_TABLES: `${t.schema}.t`,
      DB_EVENTS_HEARTBEAT_MS: '200',
      K_SINK: `http://127.0.0.1:${(server.address() as AddressInfo).port}/default/default`,
    });
    app = buildApp(env, { logger: createLogger({ name: 'db-events-test', level: 'warn' }) });
  });

  afterAll(async () => {
    await app?.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await t?.cleanup();
  }, 30_000);

  it('is not ready before the stream connects, ready after, and publishes batches to K_SINK', async () => {
    expect((await app.server.inject('/readyz')).statusCode).toBe(503);
    app.start();
    await waitFor(async () => (await app.server.inject('/readyz')).statusCode === 200, { message: 'ready' });
    await t.db.query(`INSERT INTO ${t.schema}.t VALUES (1), (2)`);
    await waitFor(() => batches.flat().length === 2, { message: 'events at the sink' });
    expect(batches.flat().map((e) => [e.type, e.subject])).toEqual([
      ['dev.tributary.db.row.inserted', '1'],
      ['dev.tributary.db.row.inserted', '2'],
    ]);
  });

  it('exports slot health, lag, sink latency and change metrics', async () => {
    await waitFor(
      async () =>
        /db_events_slot_wal_status\{status="reserved"[^}]*\} 1/.test(
          (await app.server.inject('/metrics')).body,
        ),
      { message: 'slot polled' },
    );
    const body = (await app.server.inject('/metrics')).body;
    expect(body).toMatch(/db_events_slot_safe_wal_size_bytes(\{[^}]*\})? -?\d+/);
    expect(body).toMatch(/db_events_replication_lag_bytes(\{[^}]*\})? \d+/);
    expect(body).toMatch(/db_events_replication_connected(\{[^}]*\})? 1/);
    expect(body).toMatch(
      new RegExp(`db_events_changes_total\\{table="${t.schema}\\.t",op="INSERT"[^}]*\\} 2`),
    );
    expect(body).toMatch(/db_events_sink_latency_seconds_count(\{[^}]*\})? [1-9]/);
  });
});
