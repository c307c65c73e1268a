// The dead-letter store against real Postgres and the real broker: a Trigger whose subscriber fails
// dead-letters into the store; the store lists, shows, deletes and redrives back through the ingress.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createCloudEvent, createLogger, createServer, encodeHttpStructured } from '@tributary/shared';
import { testEnv, uniqueName, uniqueSchema, waitFor } from '@tributary/testing';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { request } from 'undici';
import { type RunningBroker, startBroker } from '../broker.js';
import { startSubscriber, type TestSubscriber } from '../dispatcher/test-subscriber.js';
import { createPostgresLog, type PostgresBrokerLog } from '../log/postgres/postgres-log.js';
import { parseResources } from '../resources/load.js';
import type { DeadLetter, DeadLetterSummary } from '../wire.js';
import { deadLetterRoutes } from './routes.js';
import { DeadLetterStore } from './store.js';

jest.setTimeout(120_000);

const logger = createLogger({ name: 'dead-letters-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const schema = uniqueSchema('dlq');
const ns = 'shop';

describe('dead-letter store with the real broker (postgres log)', () => {
  let log: PostgresBrokerLog;
  let store: DeadLetterStore;
  let sinkApp: FastifyInstance;
  let sinkUrl: string;
  let broker: RunningBroker;
  let subscriber: TestSubscriber;
  let failing = true;
  const brokerName = uniqueName('orders').replace(/_/g, '-');

  async function api<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) {
    const res = await request(`${sinkUrl}${path}`, {
      method,
      ...(body !== undefined
        ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
        : {}),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: (text ? JSON.parse(text) : undefined) as T };
  }

  beforeAll(async () => {
    log = createPostgresLog({ databaseUrl: testEnv().databaseUrl, schema, logger, pollIntervalMs: 200 });
    subscriber = await startSubscriber(() =>
      failing ? { status: 422, body: 'order total must be positive' } : { status: 202 },
    );
    sinkApp = createServer({ name: 'dlq-test', logger });
    // The broker's ingress URL is only known once it listens: resolve per call.
    store = new DeadLetterStore({
      databaseUrl: testEnv().databaseUrl,
      schema,
      logger,
      ingress: (b) => broker.brokerUrl(b),
      registry: sinkApp.metrics,
    });
    await sinkApp.register(deadLetterRoutes, { store });
    sinkUrl = (await sinkApp.listen({ port: 0, host: '127.0.0.1' })).replace('[::1]', '127.0.0.1');
    const yaml = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: ${brokerName}, namespace: ${ns} }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: bill
  namespace: ${ns}
spec:
  broker: ${brokerName}
  filter: { attributes: { type: com.example.order.placed } }
  subscriber: { uri: ${subscriber.url} }
  delivery:
    retry: 1
    backoffDelay: PT0.05S
    deadLetterSink: { uri: ${sinkUrl}/dead-letters/${ns}/${brokerName} }`;
    broker = await startBroker({
      resources: parseResources([{ file: 'dlq.yaml', text: yaml }]),
      log,
      logger,
      port: 0,
      dispatch: { lagIntervalMs: 0, closeGraceMs: 1000 },
    });
  });

  afterAll(async () => {
    await broker?.close();
    await sinkApp?.close();
    await store?.close();
    await subscriber?.close();
    await log?.close();
  });

  async function publish(id: string, extra: Record<string, unknown> = {}) {
    const e = createCloudEvent({
      type: 'com.example.order.placed',
      source: '/shop/orders',
      id,
      subject: `order ${id}`,
      data: { id, total: -1 },
      ...extra,
    });
    const { headers, body } = encodeHttpStructured(e);
    const res = await request(broker.brokerUrl({ namespace: ns, name: brokerName }), {
      method: 'POST',
      headers,
      body,
    });
    await res.body.dump();
    expect(res.statusCode).toBe(202);
  }

  async function pending(): Promise<DeadLetterSummary[]> {
    const r = await api<{ items: DeadLetterSummary[] }>(
      'GET',
      `/api/dead-letters?namespace=${ns}&broker=${brokerName}&status=pending`,
    );
    return r.body.items;
  }

  it('stores a dead letter with every attribute, the error and the body, durably', async () => {
    failing = true;
    await publish('o-1', { region: 'eu west' });
    await waitFor(async () => (await pending()).some((d) => d.eventId === 'o-1'));
    const [summary] = (await pending()).filter((d) => d.eventId === 'o-1');
    expect(summary).toMatchObject({
      namespace: ns,
      broker: brokerName,
      source: '/shop/orders',
      type: 'com.example.order.placed',
      subject: 'order o-1',
      errorCode: 422,
      errorDest: subscriber.url,
      errorData: 'order total must be positive',
      status: 'pending',
      times: 1,
    });
    const full = await api<DeadLetter>('GET', `/api/dead-letters/${summary!.id}`);
    expect(full.status).toBe(200);
    expect(full.body.attributes).toMatchObject({
      id: 'o-1',
      specversion: '1.0',
      region: 'eu west',
      knativeerrorcode: '422',
      knativeerrordest: subscriber.url,
      knativeerrordata: Buffer.from('order total must be positive').toString('base64'),
      datacontenttype: 'application/json',
    });
    expect(JSON.parse(full.body.dataText ?? '')).toEqual({ id: 'o-1', total: -1 });

    // Durable: a separate connection sees the committed row.
    const client = new pg.Client({ connectionString: testEnv().databaseUrl });
    await client.connect();
    const { rows } = await client.query(
      `SELECT event_id, error_code FROM ${schema}.dead_letters WHERE id = $1`,
      [summary!.id],
    );
    await client.end();
    expect(rows).toEqual([{ event_id: 'o-1', error_code: 422 }]);

    const metrics = await (await request(`${sinkUrl}/metrics`)).body.text();
    expect(metrics).toMatch(
      new RegExp(`tributary_dead_letters_pending\\{[^}]*broker="${brokerName}"[^}]*\\} 1`),
    );
  });

  it('redrives one dead letter: the subscriber gets the original event without knativeerror*', async () => {
    const [d] = (await pending()).filter((x) => x.eventId === 'o-1');
    failing = false;
    const isO1 = (x: { event: { id: string } }) => x.event.id === 'o-1';
    const before = subscriber.received.filter(isO1).length;
    const r = await api<{ ok: boolean; status: number }>('POST', `/api/dead-letters/${d!.id}/redrive`);
    expect(r.body).toMatchObject({ ok: true, status: 202 });
    const got = (await subscriber.waitFor(before + 1, isO1)).at(-1);
    expect(got).toBeDefined();
    const ev = got!.event as unknown as Record<string, unknown>;
    expect(ev.knativeerrordest).toBeUndefined();
    expect(ev.knativeerrordata).toBeUndefined();
    expect(ev.region).toBe('eu west');
    expect(got!.event.data).toEqual({ id: 'o-1', total: -1 });
    const after = await api<DeadLetter>('GET', `/api/dead-letters/${d!.id}`);
    expect(after.body).toMatchObject({ status: 'redriven', redriveCount: 1, lastRedriveStatus: 202 });
  });

  it('an event dead-lettered again after a redrive updates its row instead of adding one', async () => {
    failing = true;
    await publish('o-2');
    await waitFor(async () => (await pending()).some((d) => d.eventId === 'o-2'));
    const [d] = (await pending()).filter((x) => x.eventId === 'o-2');
    const r = await api<{ ok: boolean }>('POST', `/api/dead-letters/${d!.id}/redrive`);
    expect(r.body.ok).toBe(true);
    // Still failing: it comes back as the same row, pending again, times = 2.
    await waitFor(async () => (await pending()).some((x) => x.eventId === 'o-2' && x.times === 2));
    const all = await api<{ items: DeadLetterSummary[] }>('GET', `/api/dead-letters?broker=${brokerName}`);
    expect(all.body.items.filter((x) => x.eventId === 'o-2')).toHaveLength(1);
  });

  it('redrives all pending dead letters of a broker', async () => {
    failing = true;
    await publish('o-3');
    await publish('o-4');
    await waitFor(async () => {
      const ids = (await pending()).map((d) => d.eventId);
      return ids.includes('o-3') && ids.includes('o-4');
    });
    failing = false;
    const before = subscriber.received.length;
    const r = await api<{ redriven: number; failed: number }>('POST', '/api/dead-letters/redrive', {
      namespace: ns,
      broker: brokerName,
    });
    expect(r.body.failed).toBe(0);
    expect(r.body.redriven).toBeGreaterThanOrEqual(3); // o-2, o-3, o-4
    await subscriber.waitFor(before + 3);
    expect(await pending()).toEqual([]);
  });

  it('rejects a body that is not a CloudEvent with 400, and answers 404 for unknown ids', async () => {
    const res = await request(`${sinkUrl}/dead-letters/${ns}/${brokerName}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"not":"an event"}',
    });
    expect(res.statusCode).toBe(400);
    // The same code as the broker ingress for the same failure (docs/ERRORS.md), once INVALID_CLOUDEVENT.
    const refused = (await res.body.json()) as { code: string; message: string };
    expect(refused).toMatchObject({
      code: 'CLOUDEVENT_DECODE',
      message: expect.stringContaining('no CloudEvent found'),
    });
    // An id too large for the key index (Postgres 54000) is a 400 naming no SQLSTATE, not a 503.
    const huge = await request(`${sinkUrl}/dead-letters/${ns}/${brokerName}`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({
        specversion: '1.0',
        id: randomBytes(6000).toString('hex'),
        source: '/s',
        type: 't',
      }),
    });
    expect(huge.statusCode).toBe(400);
    expect(await huge.body.text()).not.toMatch(/54000/);
    expect((await api('GET', '/api/dead-letters/999999999')).status).toBe(404);
    // Regression: ids past bigint and NUL bytes were 500s carrying SQLSTATE 22003 / 22021.
    for (const path of [
      '/api/dead-letters/9223372036854775808',
      '/api/dead-letters/99999999999999999999999',
      '/api/dead-letters/-1',
    ]) {
      const r = await api<{ code: string }>('GET', path);
      expect(r.status).toBe(404);
      expect(JSON.stringify(r.body)).not.toMatch(/22003|22021|22P02/);
    }
    expect((await api('DELETE', '/api/dead-letters/9223372036854775808')).status).toBe(404);
    expect((await api('POST', '/api/dead-letters/9223372036854775808/redrive')).status).toBe(404);
    const nul = await api<{ code: string }>('GET', '/api/dead-letters?namespace=a%00b');
    expect(nul.status).toBe(400);
    expect(nul.body.code).toBe('NUL_IN_URL');
    const before = await api<{ items: unknown[] }>('GET', '/api/dead-letters?before=9223372036854775808');
    expect(before.status).toBe(200);
    expect((await api('POST', '/api/dead-letters/999999999/redrive')).status).toBe(404);
  });

  it('deletes one dead letter and all of a broker', async () => {
    const all = await api<{ items: DeadLetterSummary[]; total: number }>(
      'GET',
      `/api/dead-letters?broker=${brokerName}`,
    );
    expect(all.body.total).toBeGreaterThan(1);
    const first = all.body.items[0]!;
    expect((await api('DELETE', `/api/dead-letters/${first.id}`)).status).toBe(204);
    expect((await api('GET', `/api/dead-letters/${first.id}`)).status).toBe(404);
    const r = await api<{ deleted: number }>('DELETE', `/api/dead-letters?broker=${brokerName}`);
    expect(r.body.deleted).toBe(all.body.total - 1);
    expect((await api<{ total: number }>('GET', `/api/dead-letters?broker=${brokerName}`)).body.total).toBe(
      0,
    );
  });

  it('creates its table idempotently alongside the broker log', async () => {
    const again = new DeadLetterStore({ databaseUrl: testEnv().databaseUrl, schema, logger });
    await again.migrate();
    await again.migrate();
    expect(await again.counts()).toEqual(expect.any(Array));
    await again.close();
  });
});
