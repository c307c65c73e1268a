import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createFunctionHost, type FunctionModule, loadFunction } from '@tributary/function-runtime';
import { createLogger } from '@tributary/shared';
import { uniqueName } from '@tributary/testing';
import { CloudEvent, HTTP } from 'cloudevents';
import pg from 'pg';

const databaseUrl = process.env.DATABASE_URL!;
const schemaName = uniqueName('fi').replace(/-/g, '_');
let admin: pg.Client;
let fn: FunctionModule;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`create schema ${schemaName}`);
  await admin.query(`create table ${schemaName}.files (
    id bigint generated always as identity primary key, bucket text not null, key text not null, size bigint,
    content_type text, etag text, indexed_at timestamptz, unique (bucket, key))`);
  fn = await loadFunction(new URL('./index.ts', import.meta.url).pathname);
  await (fn.init as (env: Record<string, string>) => void)({
    DATABASE_URL: databaseUrl,
    FILES_TABLE: `${schemaName}.files`,
  });
});

afterAll(async () => {
  await fn.shutdown?.();
  await admin.query(`drop schema ${schemaName} cascade`);
  await admin.end();
});

describe('file-indexer against real Postgres', () => {
  it('indexes an uploaded object posted as a binary CloudEvent, idempotently', async () => {
    const app = createFunctionHost({
      name: 'file-indexer',
      fn,
      logger: createLogger({ name: 't', level: 'silent' }),
    });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const event = new CloudEvent({
        id: 'minio-abc',
        source: '/storage/uploads',
        type: 'dev.tributary.storage.object.created',
        subject: 'reports/q1 2026.pdf',
        data: {
          bucket: 'uploads',
          key: 'reports/q1 2026.pdf',
          size: 1234,
          eTag: 'e1',
          contentType: 'application/pdf',
        },
      });
      for (let i = 0; i < 2; i++) {
        const msg = HTTP.binary(event);
        const res = await fetch(url, {
          method: 'POST',
          headers: msg.headers as Record<string, string>,
          body: msg.body as string,
        });
        expect(res.status).toBe(204);
      }
      const rows = await admin.query(`select bucket, key, size, content_type, etag from ${schemaName}.files`);
      expect(rows.rows).toEqual([
        {
          bucket: 'uploads',
          key: 'reports/q1 2026.pdf',
          size: '1234',
          content_type: 'application/pdf',
          etag: 'e1',
        },
      ]);
    } finally {
      await app.close();
    }
  });
});
