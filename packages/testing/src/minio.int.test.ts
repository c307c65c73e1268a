import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as Minio from 'minio';
import { type MinioInstance, startMinio, testEnv, uniqueBucket, waitFor } from './index.js';

// Generous limits for a loaded 2-core machine (Jest's default is 5 s); not a performance check.
const TIMEOUT_MS = 60_000;

describe('MinIO (real server)', () => {
  it(
    'puts an object and reads it back',
    async () => {
      const client = new Minio.Client(testEnv().minio);
      const bucket = uniqueBucket('smoke');
      await client.makeBucket(bucket);
      try {
        await client.putObject(bucket, 'dir/hello world.txt', 'hello minio', undefined, {
          'Content-Type': 'text/plain',
        });
        const stat = await client.statObject(bucket, 'dir/hello world.txt');
        expect(stat.size).toBe('hello minio'.length);
        expect(await text(await client.getObject(bucket, 'dir/hello world.txt'))).toBe('hello minio');
      } finally {
        await client.removeObject(bucket, 'dir/hello world.txt').catch(() => {});
        await client.removeBucket(bucket);
      }
    },
    TIMEOUT_MS,
  );
});

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
}

describe('MinIO bucket notifications (dedicated server with a webhook target)', () => {
  const deliveries: Delivery[] = [];
  const token = 'smoke-secret-token';
  const targetId = 'SMOKE';
  let webhook: Server;
  let minio: MinioInstance;
  let queueDir: string;

  beforeAll(async () => {
    webhook = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => {
        deliveries.push({ headers: req.headers, body });
        res.writeHead(200).end();
      });
    });
    webhook.listen(0, '127.0.0.1');
    await once(webhook, 'listening');
    const address = webhook.address();
    if (address === null || typeof address === 'string') throw new Error('no webhook address');
    queueDir = mkdtempSync(join(tmpdir(), 'tributary-minio-queue-'));
    minio = await startMinio({
      env: {
        [`MINIO_NOTIFY_WEBHOOK_ENABLE_${targetId}`]: 'on',
        [`MINIO_NOTIFY_WEBHOOK_ENDPOINT_${targetId}`]: `http://127.0.0.1:${address.port}/webhooks/minio`,
        [`MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_${targetId}`]: token,
        [`MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_${targetId}`]: queueDir,
      },
    });
  }, TIMEOUT_MS);

  afterAll(async () => {
    await minio?.stop();
    webhook?.close();
    if (queueDir) rmSync(queueDir, { recursive: true, force: true });
  }, TIMEOUT_MS);

  it(
    'delivers an object-created notification to a local webhook',
    async () => {
      const client = new Minio.Client({
        endPoint: '127.0.0.1',
        port: minio.port,
        useSSL: false,
        accessKey: minio.accessKey,
        secretKey: minio.secretKey,
      });
      const bucket = uniqueBucket('notify');
      await client.makeBucket(bucket);
      const config = new Minio.NotificationConfig();
      const queue = new Minio.QueueConfig(Minio.buildARN('minio', 'sqs', '', targetId, 'webhook'));
      queue.addEvent(Minio.ObjectCreatedAll);
      config.add(queue);
      await client.setBucketNotification(bucket, config);

      await client.putObject(bucket, 'photos/cat 1.jpg', Buffer.from('meow'));

      const delivery = await waitFor(
        () => deliveries.find((d) => d.body.includes('"s3:ObjectCreated:Put"') && d.body.includes(bucket)),
        { timeoutMs: 30_000, message: 'the bucket notification to reach the webhook' },
      );
      expect(delivery.headers.authorization).toBe(`Bearer ${token}`);
      const event = JSON.parse(delivery.body) as {
        EventName: string;
        Key: string;
        Records: { s3: { bucket: { name: string }; object: { key: string; size: number } } }[];
      };
      expect(event.EventName).toBe('s3:ObjectCreated:Put');
      expect(event.Key).toBe(`${bucket}/photos/cat 1.jpg`);
      expect(event.Records[0]?.s3.bucket.name).toBe(bucket);
      // S3 notifications carry the key query-escaped (a space becomes "+").
      expect(decodeURIComponent(event.Records[0]?.s3.object.key.replace(/\+/g, ' ') ?? '')).toBe(
        'photos/cat 1.jpg',
      );
      expect(event.Records[0]?.s3.object.size).toBe(4);
    },
    TIMEOUT_MS,
  );
});
