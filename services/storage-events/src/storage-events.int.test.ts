// End to end against a real MinIO server (a dedicated one: its webhook target env points at this test's
// storage-events) and the real broker: MinIO -> POST /webhooks/minio -> createPublisher -> eventing ingress
// -> log (Postgres; STORAGE_EVENTS_TEST_BROKER=kafka for the Kafka log) -> read back by a consumer group.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger, createPublisher } from '@tributary/shared';
import { freePort, type MinioInstance, startMinio, testEnv, uniqueBucket, waitFor } from '@tributary/testing';
import type { CloudEvent } from 'cloudevents';
import type { FastifyInstance } from 'fastify';
import { Client } from 'minio';
import { buildApp, WEBHOOK_PATH } from './app.js';
import type { StorageEventData } from './mapping.js';
import { minioWebhookEnv } from './rules.js';
import { setupBucketNotifications } from './setup.js';
import { type RecordingBroker, startIngressBroker } from './test-broker.js';

const TOKEN = 'storage-events-test-token';
const TARGET_ID = 'TRIBUTARY';
// MinIO retries queued events every 3 s (internal/store/store.go retryInterval) and also picks new ones
// up on that tick, so every wait allows several ticks.
const DELIVERY_TIMEOUT_MS = 30_000;

let broker: RecordingBroker & { close(): Promise<void> };
let app: FastifyInstance;
let appPort: number;
let minio: MinioInstance;
let client: Client;
let queueDir: string;
let bucket: string;

type StorageEvent = CloudEvent<StorageEventData>;

function eventsOf(b: string): StorageEvent[] {
  return broker.events.filter((e) => e.source === `/storage/${b}`) as StorageEvent[];
}

async function waitForEvent(match: (e: StorageEvent) => boolean, what: string): Promise<StorageEvent> {
  return waitFor(() => broker.events.find((e) => match(e as StorageEvent)) as StorageEvent | undefined, {
    timeoutMs: DELIVERY_TIMEOUT_MS,
    intervalMs: 100,
    message: what,
  });
}

const byKeyAndName = (b: string, key: string, eventName: string) => (e: StorageEvent) =>
  e.source === `/storage/${b}` && e.subject === key && e.s3eventname === eventName;

async function startApp(): Promise<void> {
  const logger = createLogger({ name: 'storage-events', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const publisher = createPublisher({ url: broker.url, retries: 0, timeoutMs: 2_000 });
  app = buildApp({ logger, token: TOKEN, sink: publisher });
  app.addHook('onClose', async () => publisher.close());
  await app.listen({ port: appPort, host: '127.0.0.1' });
}

beforeAll(async () => {
  const backend = process.env.STORAGE_EVENTS_TEST_BROKER === 'kafka' ? 'kafka' : 'postgres';
  broker = await startIngressBroker(
    backend === 'kafka'
      ? { backend, kafkaBrokers: testEnv().kafkaBrokers }
      : { backend, databaseUrl: testEnv().databaseUrl },
  );
  appPort = await freePort();
  await startApp();
  queueDir = mkdtempSync(join(tmpdir(), 'tributary-minio-queue-'));
  // Exactly the MinIO server env the README documents.
  minio = await startMinio({
    env: minioWebhookEnv({
      targetId: TARGET_ID,
      endpoint: `http://127.0.0.1:${appPort}${WEBHOOK_PATH}`,
      token: TOKEN,
      queueDir,
      queueLimit: 100_000,
    }),
  });
  const url = new URL(minio.endpoint);
  client = new Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: false,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
    partSize: 5 * 1024 * 1024,
  });
  bucket = uniqueBucket('se');
  await client.makeBucket(bucket);
  await setupBucketNotifications({
    minio: client,
    targetId: TARGET_ID,
    rules: [
      {
        bucket,
        prefix: '',
        suffix: '',
        events: ['s3:ObjectAccessed:*', 's3:ObjectCreated:*', 's3:ObjectRemoved:*'],
      },
    ],
  });
}, 120_000);

afterAll(async () => {
  await minio?.stop();
  await app?.close();
  await broker?.close();
  if (queueDir) rmSync(queueDir, { recursive: true, force: true });
}, 60_000);

describe('bucket notification setup', () => {
  it('is idempotent: a second run changes nothing', async () => {
    const b = uniqueBucket('setup');
    await client.makeBucket(b);
    const rules = [
      { bucket: b, prefix: 'images/', suffix: '.jpg', events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'] },
      { bucket: b, prefix: 'docs/', suffix: '', events: ['s3:ObjectCreated:Put'] },
    ];
    const first = await setupBucketNotifications({ minio: client, targetId: TARGET_ID, rules });
    expect(first).toEqual([{ bucket: b, changed: true, rules }]);
    const stored = await client.getBucketNotification(b);
    const second = await setupBucketNotifications({ minio: client, targetId: TARGET_ID, rules });
    expect(second).toEqual([{ bucket: b, changed: false, rules }]);
    expect(await client.getBucketNotification(b)).toEqual(stored);
    expect(JSON.stringify(stored)).toContain(`arn:minio:sqs::${TARGET_ID}:webhook`);

    // Changing the configured rules replaces ours.
    const third = await setupBucketNotifications({ minio: client, targetId: TARGET_ID, rules: [rules[1]!] });
    expect(third[0]?.changed).toBe(true);
    const after = (await client.getBucketNotification(b)) as unknown as { QueueConfiguration: unknown[] };
    expect(after.QueueConfiguration).toHaveLength(1);
  });

  it('filters by prefix and suffix', async () => {
    const b = uniqueBucket('filter');
    await client.makeBucket(b);
    await setupBucketNotifications({
      minio: client,
      targetId: TARGET_ID,
      rules: [{ bucket: b, prefix: 'images/', suffix: '.jpg', events: ['s3:ObjectCreated:*'] }],
    });
    await client.putObject(b, 'images/skip.png', Buffer.from('x'));
    await client.putObject(b, 'other/skip.jpg', Buffer.from('x'));
    await client.putObject(b, 'images/take.jpg', Buffer.from('x'));
    await waitForEvent(byKeyAndName(b, 'images/take.jpg', 's3:ObjectCreated:Put'), 'images/take.jpg');
    // MinIO sends in order from its queue: once the last one is in, skipped ones would have been too.
    expect(eventsOf(b).map((e) => e.subject)).toEqual(['images/take.jpg']);
  });

  it('fails clearly for a bucket that does not exist', async () => {
    await expect(
      setupBucketNotifications({
        minio: client,
        targetId: TARGET_ID,
        rules: [{ bucket: uniqueBucket('missing'), prefix: '', suffix: '', events: ['s3:ObjectCreated:*'] }],
      }),
    ).rejects.toThrow(/does not exist/);
  });
});

describe('MinIO notifications become CloudEvents on the broker', () => {
  const keys = [
    'plain.txt',
    'with space/and more spaces.txt',
    'plus+sign+file.txt',
    'percent%20not%2Fescaped%.txt',
    'ünïcødé/日本語/😀 emoji.txt',
    'deep/nested/prefix/a/b/c/d.txt',
    'mixed + % é/?&=#;,.bin',
  ];

  it('uploads: one object.created per PUT, key decoded, data complete', async () => {
    for (const key of keys) {
      await client.putObject(bucket, key, Buffer.from(`content of ${key}`), undefined, {
        'Content-Type': 'text/plain',
        'X-Amz-Meta-Owner': 'ann',
      });
    }
    for (const key of keys) {
      const e = await waitForEvent(byKeyAndName(bucket, key, 's3:ObjectCreated:Put'), `PUT ${key}`);
      const stat = await client.statObject(bucket, key);
      expect(e.type).toBe('dev.tributary.storage.object.created');
      expect(e.source).toBe(`/storage/${bucket}`);
      expect(e.subject).toBe(key);
      expect(e.partitionkey).toBe(`${bucket}/${key}`);
      expect(e.bucket).toBe(bucket);
      expect(e.id).toMatch(/^[0-9a-f]{32}$/);
      expect(Number.isNaN(Date.parse(e.time ?? ''))).toBe(false);
      expect(e.data).toMatchObject({
        bucket,
        key,
        size: Buffer.byteLength(`content of ${key}`),
        eTag: stat.etag,
        contentType: 'text/plain',
        versionId: null,
        eventName: 's3:ObjectCreated:Put',
      });
      expect(e.data?.userMetadata).toMatchObject({ 'X-Amz-Meta-Owner': 'ann' });
      expect(e.data?.record.eventName).toBe('s3:ObjectCreated:Put');
      expect(e.data?.record.s3.bucket.name).toBe(bucket);
    }
  });

  it('copy, multipart upload, tagging, reads and deletes', async () => {
    const src = 'ops/source file+1.txt';
    const copy = 'ops/copy of ü+1.txt';
    const big = 'ops/multi part/big 50%.bin';
    await client.putObject(bucket, src, Buffer.from('source'));
    await client.copyObject(bucket, copy, `/${bucket}/${src}`);
    // Over the 5 MiB part size: minio-js uploads it with a multipart upload.
    await client.putObject(bucket, big, Buffer.alloc(6 * 1024 * 1024, 7));
    await client.setObjectTagging(bucket, src, { team: 'blue' });
    await client.removeObjectTagging(bucket, src, { versionId: '' });
    const stream = await client.getObject(bucket, src);
    for await (const _ of stream) {
      // drain
    }
    await client.statObject(bucket, src);
    await client.removeObject(bucket, copy);
    await client.removeObjects(bucket, [src, big]);

    const expectations: [string, string, string][] = [
      [copy, 's3:ObjectCreated:Copy', 'dev.tributary.storage.object.created'],
      [big, 's3:ObjectCreated:CompleteMultipartUpload', 'dev.tributary.storage.object.created'],
      [src, 's3:ObjectCreated:PutTagging', 'dev.tributary.storage.object.created'],
      [src, 's3:ObjectCreated:DeleteTagging', 'dev.tributary.storage.object.created'],
      [src, 's3:ObjectAccessed:Get', 'dev.tributary.storage.object.accessed'],
      [src, 's3:ObjectAccessed:Head', 'dev.tributary.storage.object.accessed'],
      [copy, 's3:ObjectRemoved:Delete', 'dev.tributary.storage.object.removed'],
      [src, 's3:ObjectRemoved:Delete', 'dev.tributary.storage.object.removed'],
      [big, 's3:ObjectRemoved:Delete', 'dev.tributary.storage.object.removed'],
    ];
    for (const [key, name, type] of expectations) {
      const e = await waitForEvent(byKeyAndName(bucket, key, name), `${name} ${key}`);
      expect(e.type).toBe(type);
      expect(e.subject).toBe(key);
    }
    const multipart = await waitForEvent(
      byKeyAndName(bucket, big, 's3:ObjectCreated:CompleteMultipartUpload'),
      'multipart',
    );
    expect(multipart.data?.size).toBe(6 * 1024 * 1024);
    // A multipart ETag is `<md5 of part md5s>-<parts>`.
    expect(multipart.data?.eTag).toMatch(/^[0-9a-f]{32}-[0-9]+$/);
    // The multi-object delete is one request: one event (and a distinct id) per object.
    const deletes = eventsOf(bucket).filter(
      (e) => e.s3eventname === 's3:ObjectRemoved:Delete' && (e.subject === src || e.subject === big),
    );
    expect(new Set(deletes.map((e) => e.data?.record.responseElements?.['x-amz-request-id'])).size).toBe(1);
    expect(new Set(deletes.map((e) => e.id)).size).toBe(2);
    // Every event of this bucket has its own id.
    const all = eventsOf(bucket);
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
  });
});

describe('webhook authentication', () => {
  const body = () =>
    JSON.stringify({
      EventName: 's3:ObjectCreated:Put',
      Key: `${bucket}/forged.txt`,
      Records: [
        {
          eventVersion: '2.0',
          eventSource: 'minio:s3',
          eventTime: new Date().toISOString(),
          eventName: 's3:ObjectCreated:Put',
          s3: { bucket: { name: bucket }, object: { key: 'forged.txt', size: 1, sequencer: '1' } },
        },
      ],
    });

  it.each([
    ['missing', undefined],
    ['wrong', 'Bearer not-the-token'],
    ['wrong scheme', `Basic ${TOKEN}`],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`],
  ])('answers 401 and publishes nothing when the token is %s', async (_what, authorization) => {
    const before = broker.events.length;
    const res = await fetch(`http://127.0.0.1:${appPort}${WEBHOOK_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: body(),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(await res.json()).toMatchObject({ error: 'unauthorized' });
    expect(broker.events.length).toBe(before);
    expect(broker.events.some((e) => e.subject === 'forged.txt')).toBe(false);
  });

  it('answers 400 naming the problems of a body that is not a notification', async () => {
    const res = await fetch(`http://127.0.0.1:${appPort}${WEBHOOK_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ Records: [{ eventName: 's3:ObjectCreated:Put' }] }),
    });
    expect(res.status).toBe(400);
    const json = (await res.json()) as { issues: string[] };
    expect(json.issues.join('\n')).toMatch(/Records\.0\.eventTime/);
  });
});

describe('broker outages', () => {
  it('MinIO redelivers from its queue once the broker is back: nothing lost, same ids', async () => {
    const b = uniqueBucket('outage');
    await client.makeBucket(b);
    await setupBucketNotifications({
      minio: client,
      targetId: TARGET_ID,
      rules: [{ bucket: b, prefix: '', suffix: '', events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'] }],
    });
    const refusedBefore = broker.refused;

    // 1. The broker answers 503: storage-events answers 5xx, MinIO keeps the event queued.
    await broker.setMode('unavailable');
    await client.putObject(b, 'during 503/one.txt', Buffer.from('1'));
    await waitFor(() => broker.refused >= refusedBefore + 2, {
      timeoutMs: DELIVERY_TIMEOUT_MS,
      message: 'MinIO retried while the broker answered 503',
    });

    // 2. The broker is not listening at all.
    await broker.stop();
    await broker.setMode('accept');
    await client.putObject(b, 'while down/two.txt', Buffer.from('2'));
    await client.removeObject(b, 'during 503/one.txt');
    // Let MinIO fail at least one more round against the closed port.
    await new Promise((r) => setTimeout(r, 4_000));
    expect(eventsOf(b)).toHaveLength(0);

    // 3. Back: everything arrives.
    await broker.start();
    await waitForEvent(byKeyAndName(b, 'during 503/one.txt', 's3:ObjectCreated:Put'), 'first PUT');
    await waitForEvent(byKeyAndName(b, 'while down/two.txt', 's3:ObjectCreated:Put'), 'second PUT');
    await waitForEvent(byKeyAndName(b, 'during 503/one.txt', 's3:ObjectRemoved:Delete'), 'DELETE');
    // A redelivered notification keeps its id: however many copies arrived, one id per change.
    const ids = new Map<string, Set<string>>();
    for (const e of eventsOf(b)) {
      const k = `${e.s3eventname} ${e.subject}`;
      ids.set(k, (ids.get(k) ?? new Set()).add(e.id));
    }
    expect(ids.size).toBe(3);
    for (const set of ids.values()) expect(set.size).toBe(1);
  }, 120_000);

  it('MinIO redelivers when storage-events itself was down', async () => {
    const b = uniqueBucket('svcdown');
    await client.makeBucket(b);
    await setupBucketNotifications({
      minio: client,
      targetId: TARGET_ID,
      rules: [{ bucket: b, prefix: '', suffix: '', events: ['s3:ObjectCreated:*'] }],
    });
    await app.close();
    await client.putObject(b, 'queued while down.txt', Buffer.from('q'));
    await new Promise((r) => setTimeout(r, 4_000));
    await startApp();
    const e = await waitForEvent(
      byKeyAndName(b, 'queued while down.txt', 's3:ObjectCreated:Put'),
      'queued PUT',
    );
    expect(e.type).toBe('dev.tributary.storage.object.created');
  }, 120_000);
});
