// The backfills view on real Postgres: db-events' progress table and SQL functions (created by db-events'
// own schema code), listed for operators and cancelled with CSRF checks and an audit entry.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ensureBackfillSchema } from '@tributary/db-events';
import { createLogger } from '@tributary/shared';
import { testEnv, uniqueSchema } from '@tributary/testing';
import { SignJWT } from 'jose';
import pg from 'pg';
import { request } from 'undici';
import { createDashboard, type RunningDashboard } from './dashboard.js';

const SECRET = 'backfills-test-platform-jwt-secret-0123456789';
const key = new TextEncoder().encode(SECRET);

describe('dashboard backfills (Postgres 17)', () => {
  const schema = uniqueSchema('dashbf');
  const dbe = `${schema}_dbe`;
  let pool: pg.Pool;
  let dashboard: RunningDashboard;
  let operator: string;
  let id: string;

  beforeAll(async () => {
    const databaseUrl = testEnv().databaseUrl;
    pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    await ensureBackfillSchema(pool, dbe);
    await pool.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.users (id int PRIMARY KEY)`);
    // No db-events streams this database, so the backfill stays pending: a cancel has something to stop.
    const { rows } = await pool.query(`SELECT ${dbe}.backfill('${schema}.users', chunk_size => 10) AS id`);
    id = rows[0].id;
    dashboard = await createDashboard({
      logger: createLogger({ name: 'dashboard-backfills-test', level: 'warn' }),
      auth: { mode: 'jwt', jwtSecret: SECRET },
      port: 0,
      intervalMs: 60_000,
      databaseUrl,
      backfillSchema: dbe,
    });
    operator = await new SignJWT({ role: 'service_role', sub: 'ops-bob' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(key);
  });

  afterAll(async () => {
    await dashboard?.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP SCHEMA IF EXISTS ${dbe} CASCADE`);
    await pool.end();
  });

  const call = async (
    path: string,
    opts: { method?: 'GET' | 'POST'; headers?: Record<string, string> } = {},
  ) => {
    const post = opts.method === 'POST';
    const res = await request(`${dashboard.url}${path}`, {
      method: opts.method ?? 'GET',
      headers: {
        authorization: `Bearer ${operator}`,
        ...(post ? { 'content-type': 'application/json' } : {}),
        ...opts.headers,
      },
      ...(post ? { body: '{}' } : {}),
    });
    return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
  };

  it('lists backfills for operators only', async () => {
    const anon = await request(`${dashboard.url}/api/backfills`);
    expect(anon.statusCode).toBe(401);
    await anon.body.dump();
    const r = await call('/api/backfills');
    expect(r.status).toBe(200);
    expect(r.json.available).toBe(true);
    expect(r.json.backfills).toEqual([
      expect.objectContaining({ id, table: `${schema}.users`, state: 'pending', chunkSize: 10, rowsDone: 0 }),
    ]);
  });

  it('cancels a pending backfill, refuses cross-site calls, and audit-logs the cancel', async () => {
    const cross = await call(`/api/backfills/${id}/cancel`, {
      method: 'POST',
      headers: { origin: 'http://evil.example' },
    });
    expect(cross.status).toBe(403);
    const ok = await call(`/api/backfills/${id}/cancel`, { method: 'POST' });
    expect(ok).toEqual({ status: 200, json: { ok: true, id, state: 'cancelled' } });
    const again = await call(`/api/backfills/${id}/cancel`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ code: 'BACKFILL_NOT_ACTIVE', state: 'cancelled' });
    const missing = await call('/api/backfills/nope/cancel', { method: 'POST' });
    expect(missing.status).toBe(404);
    expect(missing.json.code).toBe('BACKFILL_NOT_FOUND');
    const audit = await call('/api/audit');
    const entries = audit.json.entries as {
      action: string;
      actor: string;
      status: number;
      target: unknown;
    }[];
    expect(entries.filter((e) => e.action === 'backfills.cancel')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          actor: expect.stringContaining('ops-bob'),
          status: 200,
          target: expect.objectContaining({ id }),
        }),
      ]),
    );
  });
});
