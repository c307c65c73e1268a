// Regression tests for db-events shutdown and connect timeouts: the reconnect wait could not be cancelled (stop()
// waited out the backoff), and the pool had no connect timeout (a Postgres host that does not answer hung a
// query, and so shutdown, for the OS's TCP timeout).
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createLogger } from '@tributary/shared';
import { freePort } from '@tributary/testing';
import pg from 'pg';
import { Registry } from 'prom-client';
import { buildApp } from './app.js';
import { loadEnv } from './env.js';
import { createMetrics } from './metrics.js';
import { CONNECT_TIMEOUT_MS, DbEvents } from './pipeline.js';
import { HttpSink } from './sink/http.js';

jest.setTimeout(60_000);

const logger = createLogger({ name: 'db-events-shutdown-test', level: 'silent' });

function env(databaseUrl: string) {
  return loadEnv({
    DATABASE_URL: databaseUrl,
    DB_EVENTS_SLOT: 'unused',
    DB_EVENTS_HEARTBEAT_MS: '0',
    K_SINK: 'http://127.0.0.1:9/default/default',
  });
}

describe('db-events shutdown', () => {
  // A TCP server that accepts connections and never says a word: what a hung or black-holed Postgres looks like.
  let silent: Server;
  let silentPort: number;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    silent = createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    silentPort = (silent.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  });

  it('regression: stop() ends the reconnect wait at once', async () => {
    const port = await freePort(); // nothing listens there: every session fails at once
    const url = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
    const metrics = createMetrics(new Registry());
    const pool = new pg.Pool({ connectionString: url });
    const engine = new DbEvents({
      connectionString: url,
      slot: 'unused',
      publication: 'unused',
      tables: [],
      sink: new HttpSink({ url: 'http://127.0.0.1:9/default/default', logger }),
      pool,
      logger,
      metrics,
      heartbeatMs: 0,
      // A reconnect backoff far longer than any test timeout: only a cancellable wait lets stop() return.
      reconnectInitialMs: 3_600_000,
    });
    engine.start();
    while ((await metrics.reconnects.get()).values.reduce((s, v) => s + v.value, 0) < 1) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await engine.stop();
    expect(engine.connected).toBe(false);
    await pool.end();
  });

  it('regression: a Postgres that never answers fails the connect after CONNECT_TIMEOUT_MS', async () => {
    const app = buildApp(env(`postgres://postgres:postgres@127.0.0.1:${silentPort}/postgres`), { logger });
    const started = Date.now();
    await expect(app.pool.query('SELECT 1')).rejects.toThrow(/timeout/i);
    expect(Date.now() - started).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 100);
    await app.close();
  });
});
