import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { minioWebhookEnv } from '@tributary/storage-events/setup';
import { type MinioInstance, startMinio, uniqueBucket } from '@tributary/testing';
import { Client } from 'minio';
import { main } from '../index.js';

// A MinIO with the storage-events webhook target (README of services/storage-events); nothing needs to
// listen at the endpoint for rules to be configured.
let minio: MinioInstance;
let queueDir: string;
let client: Client;

beforeAll(async () => {
  queueDir = mkdtempSync(join(tmpdir(), 'cli-storage-queue-'));
  minio = await startMinio({
    env: {
      ...minioWebhookEnv({
        targetId: 'TRIBUTARY',
        endpoint: 'http://127.0.0.1:9/webhooks/minio',
        token: 'token',
        queueDir,
      }),
      // Another application's webhook: setup must leave its rules alone.
      ...minioWebhookEnv({
        targetId: 'OTHER',
        endpoint: 'http://127.0.0.1:9/other',
        token: 'other',
        queueDir,
      }),
    },
  });
  const url = new URL(minio.endpoint);
  client = new Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: false,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
  });
}, 120_000);

afterAll(async () => {
  await minio?.stop();
  if (queueDir) rmSync(queueDir, { recursive: true, force: true });
});

function run(argv: string[], env: Record<string, string | undefined>) {
  const out: string[] = [];
  const err: string[] = [];
  return main(argv, { env, stdout: (l) => out.push(l), stderr: (l) => err.push(l) }).then((code) => ({
    code,
    out,
    err,
  }));
}

describe('tributary storage setup', () => {
  it('configures bucket notifications once; a second run changes nothing', async () => {
    const bucket = uniqueBucket('cli');
    await client.makeBucket(bucket);
    const otherRule = {
      Queue: 'arn:minio:sqs::OTHER:webhook',
      Event: ['s3:ObjectCreated:Put'],
      Filter: { S3Key: { FilterRule: [{ Name: 'suffix', Value: '.csv' }] } },
    };
    await client.setBucketNotification(bucket, { QueueConfiguration: [otherRule] } as never);
    const env = {
      MINIO_ENDPOINT: minio.endpoint,
      MINIO_ACCESS_KEY: minio.accessKey,
      MINIO_SECRET_KEY: minio.secretKey,
      STORAGE_EVENTS_BUCKETS: `${bucket}:prefix=images/:events=put|delete`,
    };
    const first = await run(['storage', 'setup'], env);
    expect(first).toMatchObject({ code: 0, err: [] });
    expect(first.out).toEqual([
      `${bucket}: configured (s3:ObjectCreated:*|s3:ObjectRemoved:* prefix=images/)`,
    ]);
    const second = await run(['storage', 'setup'], env);
    expect(second.out).toEqual([
      `${bucket}: unchanged (s3:ObjectCreated:*|s3:ObjectRemoved:* prefix=images/)`,
    ]);
    const stored = JSON.stringify(await client.getBucketNotification(bucket));
    expect(stored).toContain('arn:minio:sqs::TRIBUTARY:webhook');
    expect(stored).toContain('images/');
    expect(stored).toContain('arn:minio:sqs::OTHER:webhook');
    expect(stored).toContain('.csv');

    // --bucket replaces the env rules.
    const third = await run(['storage', 'setup', '--bucket', `${bucket}:events=get`], env);
    expect(third.out).toEqual([`${bucket}: configured (s3:ObjectAccessed:*)`]);
    const after = (await client.getBucketNotification(bucket)) as unknown as {
      QueueConfiguration: { Queue: string; Event: string[] }[];
    };
    expect(after.QueueConfiguration.map((q) => [q.Queue, q.Event])).toEqual([
      ['arn:minio:sqs::OTHER:webhook', ['s3:ObjectCreated:Put']],
      ['arn:minio:sqs::TRIBUTARY:webhook', ['s3:ObjectAccessed:*']],
    ]);
  });

  it('explains usage errors', async () => {
    const noSub = await run(['storage'], {});
    expect(noSub.code).toBe(2);
    expect(noSub.err[0]).toContain('missing subcommand');
    const badRule = await run(['storage', 'setup', '--bucket', 'b:color=red'], {});
    expect(badRule.code).toBe(2);
    expect(badRule.err[0]).toContain('unknown option "color"');
    const noMinio = await run(['storage', 'setup', '--bucket', 'uploads'], {});
    expect(noMinio.code).toBe(1);
    expect(noMinio.err[0]).toContain('MINIO_ENDPOINT');
  });
});
