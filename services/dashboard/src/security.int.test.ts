// Issue 15, the dashboard rows: each attack from the report, reproduced against a real dashboard on real
// Postgres, and shown refused. Operators sign in (jwt mode) or are the local user (local mode, loopback).
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  createDeadLetterStore,
  createPostgresLog,
  type DeadLetterStore,
  deadLetterTokenSource,
  type PostgresBrokerLog,
} from '@tributary/eventing';
import {
  createCloudEvent,
  createLogger,
  EVENT_TYPES,
  encodeHttpStructured,
  REDACTED,
} from '@tributary/shared';
import { testEnv, uniqueName, uniqueSchema } from '@tributary/testing';
import { SignJWT } from 'jose';
import pg from 'pg';
import { request } from 'undici';
import { createDashboard, type RunningDashboard } from './dashboard.js';
import { loadEnv } from './env.js';

jest.setTimeout(120_000);

const SECRET = 'security-test-platform-jwt-secret-0123456789';
const key = new TextEncoder().encode(SECRET);
const sign = (claims: Record<string, unknown>, k = key) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(k);

const lines: Record<string, unknown>[] = [];
const logger = createLogger({
  name: 'dashboard-security-test',
  level: 'info',
  destination: {
    write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>),
  } as unknown as NodeJS.WritableStream,
});
const schema = uniqueSchema('dashsec');
const ns = 'shop';
const brokerName = uniqueName('orders').replace(/_/g, '-');
const broker = { namespace: ns, name: brokerName };

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Record<string, unknown>;
}

async function call(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const res = await request(url, {
    method: (opts.method ?? 'GET') as 'GET',
    headers: opts.headers ?? {},
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  });
  const text = await res.body.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {}
  return { status: res.statusCode, headers: res.headers, text, json };
}

/** Reads an SSE stream until `until` matches the text so far (or it times out), then stops. */
async function readSse(url: string, headers: Record<string, string>, until: RegExp): Promise<string> {
  const ac = new AbortController();
  const res = await request(url, { headers, signal: ac.signal });
  if (res.statusCode !== 200) {
    const t = await res.body.text();
    throw new Error(`SSE ${res.statusCode}: ${t}`);
  }
  let text = '';
  const timer = setTimeout(() => ac.abort(), 20_000);
  try {
    for await (const chunk of res.body) {
      text += chunk.toString();
      if (until.test(text)) break;
    }
  } catch {
    // aborted
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return text;
}

describe('dashboard security (issue 15)', () => {
  let log: PostgresBrokerLog;
  let store: DeadLetterStore;
  let jwt: RunningDashboard;
  let local: RunningDashboard;
  let operator: string;
  let deadLetterId: string;

  beforeAll(async () => {
    const databaseUrl = testEnv().databaseUrl;
    log = createPostgresLog({ databaseUrl, schema, logger, pollIntervalMs: 200 });
    await log.ensureBroker(broker);
    store = createDeadLetterStore({ databaseUrl, schema, logger, ingress: 'http://127.0.0.1:9' });
    const common = { logger, port: 0, log, deadLetters: store, intervalMs: 60_000 };
    jwt = await createDashboard({ ...common, auth: { mode: 'jwt', jwtSecret: SECRET } });
    local = await createDashboard({ ...common, auth: { mode: 'local', jwtSecret: SECRET } });
    operator = await sign({ role: 'service_role', sub: 'ops-alice' });
    // A send-email hook event (the one-time code in email_data.token) and a dead letter to act on.
    await log.append(broker, [
      createCloudEvent({
        type: EVENT_TYPES.authEmailRequested,
        source: '/auth',
        id: 'hook-1',
        subject: 'u1',
        data: {
          user: { id: 'u1', email: 'ada@example.com' },
          email_data: { email_action_type: 'magiclink', token: '918273', token_hash: 'pkce_5ec2e7' },
        },
      }),
    ]);
    deadLetterId = await store.store(
      broker,
      createCloudEvent({ type: 'com.example.order.placed', source: '/shop', id: 'o-1', data: { total: -1 } }),
    );
  });

  afterAll(async () => {
    await jwt?.close();
    await local?.close();
    await store?.close();
    await log?.close();
  });

  describe('row 1: no authentication, 0.0.0.0, cross-site redrive', () => {
    it('answers 401 to every API call without a token, and lets the page shell load', async () => {
      for (const [method, path] of [
        ['GET', '/api/dead-letters'],
        ['GET', `/api/dead-letters/${deadLetterId}`],
        ['GET', '/api/snapshot'],
        ['GET', '/api/stream'],
        ['GET', `/api/tail?namespace=${ns}&broker=${brokerName}`],
        ['GET', '/api/audit'],
        ['DELETE', `/api/dead-letters/${deadLetterId}`],
        ['DELETE', '/api/dead-letters'],
        ['POST', `/api/dead-letters/${deadLetterId}/redrive`],
        ['POST', '/api/dead-letters/redrive'],
        ['GET', '/api/no-such-route'],
      ] as const) {
        const r = await call(`${jwt.url}${path}`, { method });
        expect([method, path, r.status]).toEqual([method, path, 401]);
        expect(r.json).toMatchObject({ code: 'UNAUTHORIZED', message: expect.any(String) });
        expect(r.headers['www-authenticate']).toContain('Bearer');
      }
      expect((await call(`${jwt.url}/`)).status).toBe(200);
      // Variants of public or sink paths get no further than any other path.
      for (const path of [
        '/dead-letters/a/b',
        '/dead-letters/%2e%2e/api/dead-letters',
        '/api/%64ead-letters',
      ]) {
        expect((await call(`${jwt.url}${path}`)).status).toBe(401);
      }
      expect(await store.get(deadLetterId)).toBeDefined();
    });

    it('refuses forged, alg:none, expired, anon and dispatcher tokens', async () => {
      const forged = await sign({ role: 'service_role' }, new TextEncoder().encode('x'.repeat(40)));
      const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(
        '{"role":"service_role"}',
      ).toString('base64url')}.`;
      const expired = await new SignJWT({ role: 'service_role' })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('-1m')
        .sign(key);
      const anon = await sign({ role: 'anon' });
      const dispatcher = await deadLetterTokenSource(SECRET)();
      for (const token of [forged, none, expired, anon, dispatcher]) {
        const r = await call(`${jwt.url}/api/dead-letters`, {
          headers: { authorization: `Bearer ${token}` },
        });
        expect(r.status).toBe(401);
      }
      const ok = await call(`${jwt.url}/api/dead-letters`, {
        headers: { authorization: `Bearer ${operator}` },
      });
      expect(ok.status).toBe(200);
    });

    it('signs a browser in with an operator token: an HttpOnly SameSite=Strict session cookie', async () => {
      const bad = await call(`${jwt.url}/api/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: await sign({ role: 'authenticated' }) }),
      });
      expect(bad.status).toBe(401);
      const r = await call(`${jwt.url}/api/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: operator }),
      });
      expect(r.status).toBe(200);
      const setCookie = String(r.headers['set-cookie']);
      expect(setCookie).toMatch(
        /^tributary_dashboard_session=[^;]+; Max-Age=28800; Path=\/; HttpOnly; SameSite=Strict/,
      );
      const cookie = setCookie.split(';')[0]!;
      const me = await call(`${jwt.url}/api/session`, { headers: { cookie } });
      expect(me.json).toMatchObject({ actor: 'ops-alice', via: 'session', mode: 'jwt' });
      expect((await call(`${jwt.url}/api/dead-letters`, { headers: { cookie } })).status).toBe(200);
      // The session is good for the dashboard only: not as an operator Bearer token.
      const session = cookie.split('=')[1]!;
      const asBearer = await call(`${jwt.url}/api/dead-letters`, {
        headers: { authorization: `Bearer ${session}` },
      });
      expect(asBearer.status).toBe(401);
      // The token itself is never logged.
      expect(JSON.stringify(lines)).not.toContain(operator);
    });

    it('regression: a cross-origin text/plain POST no longer redrives (local mode and with a session)', async () => {
      const attack = {
        method: 'POST',
        headers: {
          origin: 'https://evil.example',
          'content-type': 'text/plain',
          'sec-fetch-site': 'cross-site',
        },
        body: '{}',
      };
      const viaLocal = await call(`${local.url}/api/dead-letters/redrive`, attack);
      expect(viaLocal.status).toBe(403);
      expect(viaLocal.json).toMatchObject({ code: 'CROSS_ORIGIN' });
      // Without Origin / Sec-Fetch-Site (an old browser): text/plain is still refused.
      const plain = await call(`${local.url}/api/dead-letters/${deadLetterId}/redrive`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: '{}',
      });
      expect(plain.status).toBe(415);
      expect(plain.json).toMatchObject({ code: 'JSON_REQUIRED' });
      const form = await call(`${local.url}/api/dead-letters/redrive`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'namespace=shop',
      });
      expect(form.status).toBe(415);
      const del = await call(`${local.url}/api/dead-letters/${deadLetterId}`, {
        method: 'DELETE',
        headers: { origin: 'http://evil.example:8088' },
      });
      expect(del.status).toBe(403);
      expect(await store.get(deadLetterId)).toMatchObject({ status: 'pending', redriveCount: 0 });
    });

    it('local mode lets in loopback clients that name a loopback host only (no DNS rebinding)', async () => {
      expect((await call(`${local.url}/api/dead-letters`)).status).toBe(200);
      const rebound = await call(`${local.url}/api/dead-letters`, { headers: { host: 'evil.example:8088' } });
      expect(rebound.status).toBe(401);
    });

    it('local mode refuses to listen beyond loopback, and the service refuses to start without auth', async () => {
      await expect(
        createDashboard({ logger, port: 0, host: '0.0.0.0', auth: { mode: 'local' } }),
      ).rejects.toThrow(/loopback/);
      expect(() => loadEnv({})).toThrow(/DASHBOARD_JWT_SECRET: is required/);
      expect(() => loadEnv({ DASHBOARD_AUTH: 'local', HOST: '0.0.0.0' })).toThrow(/HOST: must be a loopback/);
      expect(() => loadEnv({ DASHBOARD_AUTH: 'open' })).toThrow(/DASHBOARD_AUTH/);
      expect(() => loadEnv({ DASHBOARD_JWT_SECRET: 'short' })).toThrow(
        /DASHBOARD_JWT_SECRET: must be at least 32/,
      );
      expect(() => loadEnv({ DASHBOARD_JWT_SECRET: SECRET, DATABASE_URL: 'nope' })).toThrow(/DATABASE_URL/);
      expect(loadEnv({ DASHBOARD_JWT_SECRET: SECRET }).DASHBOARD_AUTH).toBe('jwt');
    });

    it('audit-logs delete and redrive with who and what', async () => {
      const auth = { authorization: `Bearer ${operator}`, 'content-type': 'application/json' };
      const id = await store.store(
        broker,
        createCloudEvent({ type: 'com.example.order.placed', source: '/shop', id: 'o-audit', data: {} }),
      );
      const redrive = await call(`${jwt.url}/api/dead-letters/${id}/redrive`, {
        method: 'POST',
        headers: auth,
        body: '{}',
      });
      expect(redrive.status).toBe(502); // the ingress is not there: still audited
      const del = await call(`${jwt.url}/api/dead-letters/${id}`, {
        method: 'DELETE',
        headers: { authorization: auth.authorization },
      });
      expect(del.status).toBe(204);
      const entries = (await call(`${jwt.url}/api/audit`, { headers: auth })).json.entries as Record<
        string,
        unknown
      >[];
      expect(entries.slice(0, 2)).toEqual([
        expect.objectContaining({
          action: 'dead-letters.delete',
          actor: 'ops-alice',
          target: { id },
          status: 204,
        }),
        expect.objectContaining({
          action: 'dead-letters.redrive',
          actor: 'ops-alice',
          via: 'bearer',
          target: { id },
          status: 502,
          result: expect.objectContaining({ ok: false }),
        }),
      ]);
      const logged = lines
        .filter((l) => l.component === 'audit')
        .map((l) => l.audit as Record<string, unknown>);
      expect(logged).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ action: 'dead-letters.delete', actor: 'ops-alice' }),
        ]),
      );
    });
  });

  describe('row 2: the dead-letter sink accepts any CloudEvent', () => {
    const event = () =>
      encodeHttpStructured(
        createCloudEvent({
          type: 'com.evil.injected',
          source: '/evil',
          id: uniqueName('evil'),
          data: { x: 1 },
        }),
      );

    it('regression: refuses callers without a dispatcher token (401/403), stores nothing', async () => {
      const before = (await store.list({ broker: brokerName })).total;
      const { headers, body } = event();
      for (const authorization of [
        undefined,
        `Bearer ${operator}`,
        `Bearer ${await sign({ role: 'tributary_dispatcher' })}`, // no audience
        `Bearer ${await sign({ role: 'service_role', aud: 'tributary-dead-letters' })}`,
      ]) {
        const r = await call(`${jwt.url}/dead-letters/${ns}/${brokerName}`, {
          method: 'POST',
          headers: { ...headers, ...(authorization ? { authorization } : {}) },
          body: String(body),
        });
        expect([401, 403]).toContain(r.status);
        expect(r.json.message).toEqual(expect.any(String));
      }
      expect((await store.list({ broker: brokerName })).total).toBe(before);
    });

    it('stores what a dispatcher sends', async () => {
      const { headers, body } = event();
      const token = await deadLetterTokenSource(SECRET)();
      const r = await call(`${jwt.url}/dead-letters/${ns}/${brokerName}`, {
        method: 'POST',
        headers: { ...headers, authorization: `Bearer ${token}` },
        body: String(body),
      });
      expect(r.status).toBe(202);
    });
  });

  describe('rows 3 and 4: the live tail', () => {
    const auth = () => ({ authorization: `Bearer ${operator}` });

    it('regression: redacts the one-time code and token hash of a send-email hook event', async () => {
      const text = await readSse(
        `${jwt.url}/api/tail?namespace=${ns}&broker=${brokerName}&from=earliest`,
        auth(),
        /event: cloudevent\ndata: .*hook-1/,
      );
      expect(text).toContain('hook-1');
      expect(text).not.toContain('918273');
      expect(text).not.toContain('pkce_5ec2e7');
      expect(text).toContain(REDACTED);
      expect(text).toContain('"redacted":2');
    });

    it('shows them when the operator asks explicitly, and audit-logs the asking', async () => {
      const text = await readSse(
        `${jwt.url}/api/tail?namespace=${ns}&broker=${brokerName}&from=earliest&reveal=secrets`,
        auth(),
        /hook-1/,
      );
      expect(text).toContain('918273');
      const entries = (await call(`${jwt.url}/api/audit`, { headers: auth() })).json.entries as Record<
        string,
        unknown
      >[];
      expect(entries).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            action: 'tail.reveal-secrets',
            actor: 'ops-alice',
            target: expect.objectContaining({ namespace: ns, broker: brokerName }),
          }),
        ]),
      );
      const bad = await call(`${jwt.url}/api/tail?namespace=${ns}&broker=${brokerName}&reveal=all`, {
        headers: auth(),
      });
      expect(bad.status).toBe(400);
    });

    it('redacts dead letters of secret-bearing types too', async () => {
      const id = await store.store(
        broker,
        createCloudEvent({
          type: EVENT_TYPES.authSmsRequested,
          source: '/auth',
          id: 'sms-1',
          data: { sms: { otp: '424242', phone: '+100' } },
        }),
      );
      const shown = await call(`${jwt.url}/api/dead-letters/${id}`, { headers: auth() });
      expect(shown.status).toBe(200);
      expect(shown.text).not.toContain('424242');
      expect(JSON.parse(String(shown.json.dataText))).toEqual({ sms: { otp: REDACTED, phone: '+100' } });
    });

    it('regression: tailing an unknown broker is a 404 and inserts no row', async () => {
      const r = await call(`${jwt.url}/api/tail?namespace=..%2F..&broker=%27%3B--`, { headers: auth() });
      expect(r.status).toBe(404);
      expect(r.json).toMatchObject({ code: 'BROKER_NOT_FOUND' });
      const client = new pg.Client({ connectionString: testEnv().databaseUrl });
      await client.connect();
      const { rows } = await client.query(`SELECT 1 FROM ${schema}.brokers WHERE namespace = '../..'`);
      await client.end();
      expect(rows).toEqual([]);
    });
  });

  describe('row 5: 500s and Postgres codes for bad input', () => {
    it('regression: an id past bigint, or a NUL byte, is a 4xx with a message and no SQLSTATE', async () => {
      const auth = { authorization: `Bearer ${operator}` };
      for (const [path, status] of [
        ['/api/dead-letters/9223372036854775808', 404],
        ['/api/dead-letters/-1', 404],
        ['/api/dead-letters/1e3', 404],
        ['/api/dead-letters?namespace=%00', 400],
        ['/api/dead-letters?broker=a%00b&status=pending', 400],
        [`/api/tail?namespace=${ns}&broker=a%00`, 400],
        ['/api/dead-letters?limit=99999999999999999999&before=99999999999999999999', 200],
      ] as const) {
        const r = await call(`${jwt.url}${path}`, { headers: auth });
        expect([path, r.status]).toEqual([path, status]);
        expect(r.text).not.toMatch(/22003|22021|22P0\d/);
        if (status >= 400) expect(r.json.message).toEqual(expect.any(String));
      }
    });
  });
});
