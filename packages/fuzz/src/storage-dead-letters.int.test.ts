// Issue 15, the storage-events row: a notification the broker refuses (an invalid bucket name, a
// 10,000-character key) used to get a 5xx, so MinIO retried it for ever and held every later notification
// behind it. Now it is recorded as a dead letter in the dashboard (listed, redrivable, counted) and
// answered 200, and the next notification goes through. Real ingress, real dashboard sink, real Postgres.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createDashboard, type RunningDashboard } from '@tributary/dashboard';
import {
  createDeadLetterStore,
  createIngress,
  createPostgresLog,
  type DeadLetterStore,
  deadLetterTokenSource,
  knownBrokers,
  type PostgresBrokerLog,
} from '@tributary/eventing';
import { createLogger, createPublisher, type Publisher } from '@tributary/shared';
import { buildApp, createHttpDeadLetterSink } from '@tributary/storage-events';
import { testEnv, uniqueSchema } from '@tributary/testing';
import { SignJWT } from 'jose';

jest.setTimeout(120_000);

const SECRET = 'storage-dead-letter-test-secret-0123456789';
const TOKEN = 'minio-webhook-token';
const logger = createLogger({ name: 'storage-dlq-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const broker = { namespace: 'default', name: 'storage' };

function notification(bucket: string, key: string) {
  const record = {
    eventVersion: '2.0',
    eventSource: 'minio:s3',
    awsRegion: '',
    eventTime: '2026-12-05T08:00:00.000Z',
    eventName: 's3:ObjectCreated:Put',
    userIdentity: { principalId: 'minioadmin' },
    requestParameters: {},
    responseElements: {},
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'Config',
      bucket: { name: bucket, ownerIdentity: { principalId: 'minioadmin' }, arn: `arn:aws:s3:::${bucket}` },
      object: {
        key: encodeURIComponent(key),
        size: 5,
        eTag: 'd41d8cd9',
        contentType: 'text/plain',
        sequencer: '1',
      },
    },
    source: { host: '127.0.0.1', port: '', userAgent: 'test' },
  };
  return { EventName: record.eventName, Key: `${bucket}/${key}`, Records: [record] };
}

describe('storage-events dead letters (issue 15)', () => {
  let log: PostgresBrokerLog;
  let store: DeadLetterStore;
  let ingress: ReturnType<typeof createIngress>;
  let dashboard: RunningDashboard;
  let publisher: Publisher;
  let app: ReturnType<typeof buildApp>;
  let operator: string;

  beforeAll(async () => {
    const databaseUrl = testEnv().databaseUrl;
    const schema = uniqueSchema('stdlq');
    log = createPostgresLog({ databaseUrl, schema, logger });
    await log.ensureBroker(broker);
    ingress = createIngress({ log, brokers: knownBrokers([broker]), logger });
    const ingressUrl = (await ingress.listen({ port: 0, host: '127.0.0.1' })).replace('[::1]', '127.0.0.1');
    store = createDeadLetterStore({ databaseUrl, schema, logger, ingress: ingressUrl });
    dashboard = await createDashboard({
      logger,
      auth: { mode: 'jwt', jwtSecret: SECRET },
      port: 0,
      deadLetters: store,
      intervalMs: 60_000,
    });
    publisher = createPublisher({ url: `${ingressUrl}/default/storage`, retries: 0, logger });
    app = buildApp({
      logger,
      token: TOKEN,
      sink: publisher,
      sinkUrl: `${ingressUrl}/default/storage`,
      deadLetters: createHttpDeadLetterSink({
        url: `${dashboard.url}/dead-letters/default/storage`,
        token: await deadLetterTokenSource(SECRET, { subject: 'storage-events' })(),
      }),
    });
    operator = await new SignJWT({ role: 'service_role', sub: 'ops' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET));
  });

  afterAll(async () => {
    await app?.close();
    await publisher?.close();
    await dashboard?.close();
    await ingress?.close();
    await store?.close();
    await log?.close();
  });

  const post = (body: unknown) =>
    app.inject({
      method: 'POST',
      url: '/webhooks/minio',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      payload: JSON.stringify(body),
    });

  async function deadLetters() {
    const res = await fetch(`${dashboard.url}/api/dead-letters?namespace=default&broker=storage`, {
      headers: { authorization: `Bearer ${operator}` },
    });
    return (await res.json()) as {
      items: {
        id: string;
        subject: string | null;
        errorCode: number | null;
        errorDest: string | null;
        type: string;
      }[];
      total: number;
    };
  }

  it('regression: a 10,000-character key and an invalid bucket name become dead letters, answered 200', async () => {
    const longKey = `k${'x'.repeat(9_999)}`;
    for (const n of [notification('uploads', longKey), notification('Bad Bucket\u0001', 'a.txt')]) {
      const res = await post(n);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ published: 0, deadLettered: 1 });
    }
    const list = await deadLetters();
    expect(list.total).toBe(2);
    // The key: refused by the ingress' header limit (431), the broker named as the destination. The bucket
    // name: the event could not even be built (formerly the 500), so a valid event wraps the record.
    const byDest = Object.fromEntries(
      list.items.map((d) => [d.errorDest?.endsWith('/default/storage') ? 'broker' : d.errorDest, d]),
    );
    expect(byDest.broker).toMatchObject({ errorCode: 431, subject: longKey });
    expect(byDest['storage-events']).toMatchObject({ errorCode: null, type: 'dev.tributary.storage.event' });
    const metrics = await (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/storage_events_dead_letters_total\{[^}]*reason="refused"[^}]*\} 1/);
    expect(metrics).toMatch(/storage_events_dead_letters_total\{[^}]*reason="unmappable"[^}]*\} 1/);
  });

  it('the queue moves on: the next notification is published', async () => {
    const res = await post(notification('uploads', 'ok.txt'));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ published: 1 });
  });

  it('a dead letter is redrivable from the dashboard (the broker refuses it again, and says why)', async () => {
    const [first] = (await deadLetters()).items;
    const res = await fetch(`${dashboard.url}/api/dead-letters/${first!.id}/redrive`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: '{}',
    });
    const body = (await res.json()) as { ok: boolean; status?: number; error?: string };
    expect(body.ok).toBe(false);
    expect(body.status).toBeGreaterThanOrEqual(400);
    expect(body.status).toBeLessThan(500);
  });
});
