import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createFunctionHost, type FunctionModule, loadFunction } from '@tributary/function-runtime';
import { createLogger } from '@tributary/shared';
import { uniqueName } from '@tributary/testing';
import { CloudEvent, HTTP } from 'cloudevents';
import pg from 'pg';

const databaseUrl = process.env.DATABASE_URL!;
const schemaName = uniqueName('audit').replace(/-/g, '_');
let admin: pg.Client;
let fn: FunctionModule;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  fn = await loadFunction(new URL('./index.ts', import.meta.url).pathname);
  // init creates the schema and table itself.
  await (fn.init as (env: Record<string, string>) => Promise<void>)({
    DATABASE_URL: databaseUrl,
    AUDIT_LOG_TABLE: `${schemaName}.audit_log`,
  });
});

afterAll(async () => {
  await fn.shutdown?.();
  await admin.query(`drop schema if exists ${schemaName} cascade`);
  await admin.end();
});

async function post(url: string, event: CloudEvent<unknown>): Promise<number> {
  const msg = HTTP.binary(event);
  const res = await fetch(url, {
    method: 'POST',
    headers: msg.headers as Record<string, string>,
    body: msg.body as string,
  });
  await res.arrayBuffer();
  return res.status;
}

describe('audit-log against real Postgres, over HTTP', () => {
  it('records a deleted row and a removed object once each, however often they are delivered', async () => {
    const app = createFunctionHost({
      name: 'audit-log',
      fn,
      logger: createLogger({ name: 't', level: 'silent' }),
    });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const deleted = new CloudEvent({
        id: '0/1A2B3C8-0',
        source: '/db/tributary/public/users',
        type: 'dev.tributary.db.row.deleted',
        subject: '42',
        time: '2026-01-02T03:04:05.000Z',
        data: { type: 'DELETE', schema: 'public', table: 'users', record: null, old_record: { id: 42 } },
      });
      const removed = new CloudEvent({
        id: 'minio-rm-1',
        source: '/storage/uploads',
        type: 'dev.tributary.storage.object.removed',
        subject: 'reports/q1.pdf',
        time: '2026-01-02T03:04:06.000Z',
        data: { bucket: 'uploads', key: 'reports/q1.pdf', eventName: 's3:ObjectRemoved:Delete' },
      });
      for (let i = 0; i < 2; i++) {
        expect(await post(url, deleted)).toBe(204);
        expect(await post(url, removed)).toBe(204);
      }
      const { rows } = await admin.query(
        `select source, event_id, action, resource, subject, occurred_at, details
           from ${schemaName}.audit_log order by occurred_at`,
      );
      expect(rows).toEqual([
        {
          source: '/db/tributary/public/users',
          event_id: '0/1A2B3C8-0',
          action: 'row.deleted',
          resource: 'public.users/42',
          subject: '42',
          occurred_at: new Date('2026-01-02T03:04:05.000Z'),
          details: { id: 42 },
        },
        {
          source: '/storage/uploads',
          event_id: 'minio-rm-1',
          action: 'object.removed',
          resource: 'uploads/reports/q1.pdf',
          subject: 'reports/q1.pdf',
          occurred_at: new Date('2026-01-02T03:04:06.000Z'),
          details: { bucket: 'uploads', key: 'reports/q1.pdf', eventName: 's3:ObjectRemoved:Delete' },
        },
      ]);

      // Data with a mistyped field is refused with 400 (never retried) and records nothing.
      const bad = new CloudEvent({
        id: 'bad-1',
        source: '/db/tributary/public/users',
        type: 'dev.tributary.db.row.deleted',
        data: { table: 5 },
      });
      expect(await post(url, bad)).toBe(400);
      const count = await admin.query(`select count(*)::int as n from ${schemaName}.audit_log`);
      expect(count.rows[0].n).toBe(2);
    } finally {
      await app.close();
    }
  });
});
