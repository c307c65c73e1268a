// The dashboard's Trigger replay on a real broker (real Postgres log, dispatcher running): operators only,
// cross-site requests refused, a preview that moves nothing, the replay, and both in the audit log.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  createPostgresLog,
  type PostgresBrokerLog,
  parseResources,
  type RunningBroker,
  startBroker,
} from '@tributary/eventing';
import { createCloudEvent, createLogger } from '@tributary/shared';
import { testEnv, uniqueName, uniqueSchema } from '@tributary/testing';
import { SignJWT } from 'jose';
import { request } from 'undici';
import { createDashboard, type RunningDashboard } from './dashboard.js';

jest.setTimeout(90_000);

const SECRET = 'replay-test-platform-jwt-secret-0123456789';
const logger = createLogger({ name: 'dashboard-replay-test', level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('dashboard Trigger replay', () => {
  const ns = 'shop';
  const name = uniqueName('orders').replace(/_/g, '-');
  let log: PostgresBrokerLog;
  let broker: RunningBroker;
  let dashboard: RunningDashboard;
  let operator: string;
  const received: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push(String(req.headers['ce-id']));
      res.writeHead(202).end();
    });
  });

  const waitFor = async (n: number) => {
    const deadline = Date.now() + 30_000;
    while (received.length < n) {
      if (Date.now() > deadline) throw new Error(`expected ${n} deliveries, got ${received.length}`);
      await sleep(50);
    }
  };

  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const resources = parseResources([
      {
        file: 'shop.yaml',
        text: `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: ${name}, namespace: ${ns} }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ship
  namespace: ${ns}
  annotations: { tributary.dev/initial-offset: earliest }
spec:
  broker: ${name}
  subscriber: { uri: "${uri}" }`,
      },
    ]);
    log = createPostgresLog({
      databaseUrl: testEnv().databaseUrl,
      schema: uniqueSchema('dashreplay'),
      logger,
      pollIntervalMs: 200,
    });
    broker = await startBroker({ resources, log, logger, port: 0, dispatch: { lagIntervalMs: 0 } });
    dashboard = await createDashboard({
      logger,
      port: 0,
      log,
      resources,
      intervalMs: 60_000,
      auth: { mode: 'jwt', jwtSecret: SECRET },
    });
    operator = await new SignJWT({ role: 'service_role', sub: 'ops-alice' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET));
    await log.append(
      { namespace: ns, name },
      ['o1', 'o2', 'o3'].map((id) => createCloudEvent({ type: 'com.example.order', source: '/shop', id })),
    );
    await waitFor(3);
  });

  afterAll(async () => {
    await dashboard.close();
    await broker.close();
    await log.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  async function post(body: unknown, headers: Record<string, string>) {
    const res = await request(`${dashboard.url}/api/replay/${ns}/ship`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
  }

  it('is for operators only, and refuses cross-site requests', async () => {
    expect((await post({ from: 'earliest' }, {})).status).toBe(401);
    const notOperator = await new SignJWT({ role: 'authenticated' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET));
    expect((await post({ from: 'earliest' }, { authorization: `Bearer ${notOperator}` })).status).toBe(401);
    const crossSite = await post(
      { from: 'earliest' },
      { authorization: `Bearer ${operator}`, origin: 'https://evil.example' },
    );
    expect(crossSite.status).toBe(403);
    await sleep(300);
    expect(received).toHaveLength(3);
  });

  it('lists the Triggers, previews, replays, and audit-logs every attempt', async () => {
    const auth = { authorization: `Bearer ${operator}` };
    const list = await request(`${dashboard.url}/api/replay/triggers`, { headers: auth });
    expect(await list.body.json()).toEqual({
      available: true,
      triggers: [{ namespace: ns, name: 'ship', broker: name }],
    });
    const bad = await post({ from: 'last tuesday' }, auth);
    expect(bad.status).toBe(400);
    expect(String(bad.json.message)).toMatch(/RFC 3339/);

    const preview = await post({ from: 'earliest', dryRun: true }, auth);
    expect(preview.status).toBe(200);
    expect(preview.json).toMatchObject({ trigger: `${ns}/ship`, events: 3, dryRun: true, applied: 'none' });
    await sleep(300);
    expect(received).toHaveLength(3);

    const done = await post({ from: 'earliest' }, auth);
    expect(done.status).toBe(200);
    expect(done.json).toMatchObject({ events: 3, applied: 'offsets' });
    await waitFor(6);
    expect(received.slice(3).sort()).toEqual(['o1', 'o2', 'o3']);

    const audit = await request(`${dashboard.url}/api/audit`, { headers: auth });
    const entries = ((await audit.body.json()) as { entries: Record<string, unknown>[] }).entries.filter(
      (e) => e.action === 'triggers.replay',
    );
    expect(entries.map((e) => [e.actor, e.status, (e.target as { dryRun?: boolean }).dryRun])).toEqual([
      ['ops-alice', 200, undefined],
      ['ops-alice', 200, true],
      ['ops-alice', 400, undefined],
      // Refused attempts are on record too.
      ['ops-alice', 403, undefined],
      ['unknown', 401, undefined],
      ['unknown', 401, undefined],
    ]);
    expect(entries[0]?.result).toMatchObject({ events: 3, applied: 'offsets' });
  });
});
