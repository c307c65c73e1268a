// Broker ingress conformance against both log backends (real Kafka, real Postgres), over real HTTP.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  type CloudEvent,
  createCloudEvent,
  createLogger,
  encodeHttpBatch,
  encodeHttpBinary,
  encodeHttpStructured,
} from '@tributary/shared';
import { testEnv, uniqueName, uniqueSchema } from '@tributary/testing';
import type { FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { createKafkaLog } from '../log/kafka/kafka-log.js';
import { createPostgresLog } from '../log/postgres/postgres-log.js';
import { collect } from '../log/testing.js';
import type { BrokerLog, BrokerRef } from '../log/types.js';
import { createIngress, knownBrokers } from './app.js';

jest.setTimeout(90_000);

const logger = createLogger({ name: 'ingress-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long';

interface Backend {
  name: 'kafka' | 'postgres';
  create(): BrokerLog;
  /** A log whose backend is down (nothing listens there). */
  createDown(): BrokerLog;
}

const backends: Backend[] = [
  {
    name: 'kafka',
    create: () => createKafkaLog({ brokers: testEnv().kafkaBrokers, partitions: 3, logger }),
    createDown: () => createKafkaLog({ brokers: ['127.0.0.1:1'], logger, appendTimeoutMs: 1500 }),
  },
  {
    name: 'postgres',
    create: () =>
      createPostgresLog({
        databaseUrl: testEnv().databaseUrl,
        schema: uniqueSchema('ingress'),
        logger,
        pollIntervalMs: 250,
      }),
    createDown: () =>
      createPostgresLog({
        databaseUrl: 'postgres://postgres:postgres@127.0.0.1:1/postgres',
        logger,
        appendTimeoutMs: 1500,
      }),
  },
];

function event(id: string, extra: Record<string, unknown> = {}): CloudEvent<unknown> {
  return createCloudEvent({
    type: 'dev.tributary.test',
    source: '/ingress-test',
    id,
    data: { id },
    ...extra,
  });
}

async function post(
  url: string,
  message: { headers: Record<string, string>; body: Buffer | string },
  extraHeaders: Record<string, string> = {},
) {
  const res = await request(url, {
    method: 'POST',
    headers: { ...message.headers, ...extraHeaders },
    body: message.body,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: text ? safeJson(text) : undefined };
}

function safeJson(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

async function serve(app: FastifyInstance): Promise<string> {
  return app.listen({ port: 0, host: '127.0.0.1' });
}

describe.each(backends)('broker ingress on the $name log', ({ create, createDown }) => {
  let log: BrokerLog;
  let app: FastifyInstance;
  let base: string;
  let broker: BrokerRef;
  let url: string;
  const registry = new Registry();

  beforeAll(async () => {
    log = create();
    broker = { namespace: 'default', name: uniqueName('ingress').replace(/_/g, '-') };
    await log.ensureBroker(broker);
    app = createIngress({ log, brokers: knownBrokers([broker]), logger, registry });
    base = await serve(app);
    url = `${base}/${broker.namespace}/${broker.name}`;
  });
  afterAll(async () => {
    await app.close();
    await log.close();
  });

  /** Reads the whole log back with a new consumer group. */
  async function readBack(n: number) {
    const c = await collect(log, broker, uniqueName('readback'), { initialOffset: 'earliest' });
    try {
      return await c.waitFor(n);
    } finally {
      await c.close();
    }
  }

  /** Reads the log with a new group until the event `id` shows up. */
  async function readUntil(id: string) {
    const c = await collect(log, broker, uniqueName('readuntil'), { initialOffset: 'earliest' });
    try {
      for (let n = 1; ; n++) {
        const records = await c.waitFor(n);
        if (records.some((r) => r.event.id === id)) return records;
      }
    } finally {
      await c.close();
    }
  }

  it('202 binary, structured and batch modes, each durable once answered', async () => {
    const binary = await post(url, encodeHttpBinary(event('bin-1', { partitionkey: 'p' })));
    expect(binary.status).toBe(202);
    expect(binary.text).toBe('');
    const structured = await post(url, encodeHttpStructured(event('str-1', { partitionkey: 'p' })));
    expect(structured.status).toBe(202);
    const batch = await post(
      url,
      encodeHttpBatch([
        event('bat-1', { partitionkey: 'p' }),
        event('bat-2', { partitionkey: 'p' }),
        event('bat-3', { partitionkey: 'p' }),
      ]),
    );
    expect(batch.status).toBe(202);

    const records = await readBack(5);
    const got = records.filter((r) => r.key === 'p').map((r) => r.event);
    expect(got.map((e) => e.id)).toEqual(['bin-1', 'str-1', 'bat-1', 'bat-2', 'bat-3']);
    expect(got[0]!.data).toEqual({ id: 'bin-1' });
    expect(got[1]!.data).toEqual({ id: 'str-1' });
  });

  it('202 for a binary-mode event without data (no content-type, empty body)', async () => {
    const res = await post(url, {
      headers: {
        'ce-specversion': '1.0',
        'ce-id': 'no-data',
        'ce-type': 'dev.tributary.test',
        'ce-source': '/x',
        'ce-partitionkey': 'nd',
      },
      body: '',
    });
    expect(res.status).toBe(202);
    const records = (await readUntil('no-data')).filter((r) => r.key === 'nd');
    expect(records.map((r) => r.event.data)).toEqual([undefined]);
  });

  // Regression (issue 17, differences 1, 2 and 6): the Kafka broker's receiver stores events as received.
  it('stores events as received: no time, knativearrivaltime or knativebrokerttl added, data bytes intact', async () => {
    const noTime = encodeHttpBinary(event('as-is-1', { partitionkey: 'asis' }));
    delete noTime.headers['ce-time'];
    expect((await post(url, noTime)).status).toBe(202);
    const big = '{"n":12345678901234567890}';
    const structured = {
      headers: { 'content-type': 'application/cloudevents+json' },
      body: `{"specversion":"1.0","id":"as-is-2","source":"/test","type":"dev.tributary.test","partitionkey":"asis","datacontenttype":"application/json","data":${big}}`,
    };
    expect((await post(url, structured)).status).toBe(202);
    expect(
      (await post(url, encodeHttpBinary(event('as-is-3', { partitionkey: 'asis', knativebrokerttl: 5 }))))
        .status,
    ).toBe(202);
    // An event whose TTL already ran out is refused, like Knative's loop guard.
    for (const ttl of [0, -3]) {
      const res = await post(url, encodeHttpBinary(event(`ttl-${ttl}`, { knativebrokerttl: ttl })));
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ code: 'TTL_EXPIRED' });
    }
    const records = (await readUntil('as-is-3')).filter((r) => r.key === 'asis');
    const byId = new Map(records.map((r) => [r.event.id, r]));
    const first = byId.get('as-is-1')!;
    expect(first.event.time).toBeUndefined();
    expect(first.event.knativearrivaltime).toBeUndefined();
    expect(first.event.knativebrokerttl).toBeUndefined();
    expect(encodeHttpBinary(byId.get('as-is-2')!.event).body.toString()).toBe(big);
    expect(String(byId.get('as-is-3')!.event.knativebrokerttl)).toBe('5');
  });

  it('400 for a request that is not a valid CloudEvent, with the reasons', async () => {
    const missingId = encodeHttpBinary(event('x'));
    delete missingId.headers['ce-id'];
    const res = await post(url, missingId);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: 'Bad Request', code: 'CLOUDEVENT_DECODE' });
    expect(String(res.json!.message)).toMatch(/id/);

    const plain = await post(url, { headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(plain.status).toBe(400);
    expect(plain.json).toMatchObject({ code: 'CLOUDEVENT_DECODE' });

    const brokenJson = await post(url, {
      headers: { 'content-type': 'application/cloudevents+json' },
      body: '{"specversion":',
    });
    expect(brokenJson.status).toBe(400);
  });

  it('regression: 400 (not 503) for structured or binary JSON nested 20,000 levels deep', async () => {
    const deep = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`;
    const structured = await post(url, {
      headers: { 'content-type': 'application/cloudevents+json' },
      body: `{"specversion":"1.0","id":"deep-1","source":"/fuzz","type":"com.example.deep","data":${deep}}`,
    });
    expect(structured.status).toBe(400);
    expect(structured.json).toMatchObject({ code: 'JSON_TOO_DEEP', message: expect.stringContaining('256') });
    const binary = await post(url, {
      headers: {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': 'deep-2',
        'ce-source': '/fuzz',
        'ce-type': 'com.example.deep',
      },
      body: deep,
    });
    expect(binary.status).toBe(400);
    const batch = await post(url, {
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: `[{"specversion":"1.0","id":"deep-3","source":"/fuzz","type":"com.example.deep","data":${deep}}]`,
    });
    expect(batch.status).toBe(400);
    // 256 levels is still fine.
    const ok = await post(url, {
      headers: { 'content-type': 'application/cloudevents+json' },
      body: `{"specversion":"1.0","id":"deep-4","source":"/fuzz","type":"com.example.deep","data":${'['.repeat(255)}${']'.repeat(255)}}`,
    });
    expect(ok.status).toBe(202);
  });

  it('400 for an event whose data fails its catalog schema; a batch is all or nothing', async () => {
    const bad = createCloudEvent({
      type: 'dev.tributary.db.row.inserted',
      source: '/db/postgres/public/todos',
      id: 'bad-row',
      data: { nonsense: true },
    });
    const res = await post(url, encodeHttpBinary(bad));
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: 'EVENT_SCHEMA' });
    expect(res.json!.details).toMatchObject({ events: [{ index: 0, id: 'bad-row' }] });

    const batch = await post(url, encodeHttpBatch([event('ok-in-bad-batch', { partitionkey: 'bb' }), bad]));
    expect(batch.status).toBe(400);
    expect(batch.json!.details).toMatchObject({ events: [{ index: 1, id: 'bad-row' }] });
    // A marker after the rejected batch: reading up to it shows the batch stored nothing.
    expect((await post(url, encodeHttpBinary(event('after-bad-batch', { partitionkey: 'bb' })))).status).toBe(
      202,
    );
    // Same key, same partition: anything the batch stored would come before the marker.
    const upTo = (await readUntil('after-bad-batch')).filter((r) => r.key === 'bb');
    expect(upTo.map((r) => r.event.id)).toEqual(['after-bad-batch']);
  });

  it('404 for an unknown broker', async () => {
    const res = await post(`${base}/default/no-such-broker`, encodeHttpBinary(event('nf')));
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ error: 'Not Found', code: 'BROKER_NOT_FOUND' });
  });

  it('405 with Allow for other methods; OPTIONS answers 200 like Knative', async () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH'] as const) {
      const res = await request(url, { method });
      expect(res.statusCode).toBe(405);
      expect(res.headers.allow).toBe('POST, OPTIONS');
      await res.body.text();
    }
    const options = await request(url, { method: 'OPTIONS' });
    expect(options.statusCode).toBe(200);
    expect(options.headers.allow).toBe('POST, OPTIONS');
    expect(options.headers['webhook-allowed-origin']).toBe('*');
    expect(options.headers['webhook-allowed-rate']).toBe('*');
    await options.body.text();
  });

  it('413 over the 1 MiB default limit; an event just under it is accepted', async () => {
    const big = createCloudEvent({
      type: 'dev.tributary.test',
      source: '/ingress-test',
      id: 'big',
      datacontenttype: 'application/octet-stream',
      data: new Uint8Array(1024 * 1024 + 1),
    });
    const res = await post(url, encodeHttpBinary(big));
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });

    const fits = createCloudEvent({
      type: 'dev.tributary.test',
      source: '/ingress-test',
      id: 'fits',
      datacontenttype: 'application/octet-stream',
      data: new Uint8Array(1024 * 1024),
    });
    expect((await post(url, encodeHttpBinary(fits))).status).toBe(202);
  });

  it('counts accepted and rejected events by broker, type and status code', async () => {
    const text = await registry.metrics();
    expect(text).toMatch(
      new RegExp(
        `tributary_broker_ingress_events_total\\{[^}]*broker="${broker.name}"[^}]*event_type="dev.tributary.test"[^}]*status_code="202"[^}]*\\} [1-9]`,
      ),
    );
    expect(text).toMatch(/tributary_broker_ingress_events_total\{[^}]*status_code="404"[^}]*\} [1-9]/);
    expect(text).toMatch(
      /tributary_broker_ingress_append_duration_seconds_count\{[^}]*outcome="ok"[^}]*\} [1-9]/,
    );
  });

  describe('with JWT auth', () => {
    let authApp: FastifyInstance;
    let authUrl: string;
    const sign = (claims: Record<string, unknown>, secret = SECRET, exp: string | number = '5m') =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuedAt()
        .setExpirationTime(exp)
        .sign(new TextEncoder().encode(secret));

    beforeAll(async () => {
      authApp = createIngress({
        log,
        brokers: knownBrokers([broker]),
        logger,
        auth: { jwtSecret: SECRET, allowedRoles: ['service_role'] },
      });
      const b = await serve(authApp);
      authUrl = `${b}/${broker.namespace}/${broker.name}`;
    });
    afterAll(() => authApp.close());

    it('401 without a token, with a bad signature or an expired token', async () => {
      const msg = encodeHttpBinary(event('auth-x'));
      const none = await post(authUrl, msg);
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
      const forged = await post(authUrl, msg, {
        authorization: `Bearer ${await sign({ role: 'service_role' }, 'another-secret-another-secret-another-secret')}`,
      });
      expect(forged.status).toBe(401);
      const expired = await post(authUrl, msg, {
        authorization: `Bearer ${await sign({ role: 'service_role' }, SECRET, Math.floor(Date.now() / 1000) - 60)}`,
      });
      expect(expired.status).toBe(401);
      expect(expired.json).toMatchObject({ message: 'JWT expired' });
    });

    it('checks the token before reading the body: 401 even for a body over the limit', async () => {
      const res = await post(authUrl, {
        headers: { 'content-type': 'application/octet-stream', 'ce-id': 'x' },
        body: Buffer.alloc(2 * 1024 * 1024),
      });
      expect(res.status).toBe(401);
    });

    it('403 for a token without a role or with a role that is not allowed', async () => {
      const msg = encodeHttpBinary(event('auth-y'));
      const anon = await post(authUrl, msg, { authorization: `Bearer ${await sign({ role: 'anon' })}` });
      expect(anon.status).toBe(403);
      const noRole = await post(authUrl, msg, { authorization: `Bearer ${await sign({ sub: 'u1' })}` });
      expect(noRole.status).toBe(403);
    });

    it('202 for an allowed role', async () => {
      const res = await post(authUrl, encodeHttpBinary(event('auth-ok')), {
        authorization: `Bearer ${await sign({ role: 'service_role' })}`,
      });
      expect(res.status).toBe(202);
    });
  });

  describe('when the backend is down', () => {
    let downApp: FastifyInstance;
    let downLog: BrokerLog;
    let downUrl: string;

    beforeAll(async () => {
      downLog = createDown();
      downApp = createIngress({ log: downLog, brokers: knownBrokers([broker]), logger });
      const b = await serve(downApp);
      downUrl = `${b}/${broker.namespace}/${broker.name}`;
    });
    afterAll(async () => {
      await downApp.close();
      await downLog.close();
    });

    it('503 with Retry-After', async () => {
      const res = await post(downUrl, encodeHttpBinary(event('down')));
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.json).toMatchObject({ error: 'Service Unavailable' });
    });
  });
});
