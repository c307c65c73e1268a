import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { parseResources } from '@tributary/eventing';
import { createLogger } from '@tributary/shared';
import { CloudEvent } from 'cloudevents';
import { type AuditedData, auditEntry, handle, init, schema } from './index.js';

const BROKER = 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n';

function event(type: string, source: string, extra: Partial<CloudEvent<AuditedData>> = {}) {
  return new CloudEvent<AuditedData>({ id: 'e-1', type, source, time: '2026-01-02T03:04:05.000Z', ...extra });
}

describe('audit-log trigger.yaml (its CESQL filter)', () => {
  const file = new URL('../trigger.yaml', import.meta.url);
  const { triggers } = parseResources([
    { file: 'broker.yaml', text: BROKER },
    { file: 'trigger.yaml', text: readFileSync(file, 'utf8') },
  ]);
  const trigger = triggers[0]!;
  const matches = (type: string, source: string) =>
    trigger.filter.predicate({ specversion: '1.0', id: '1', type, source });

  it('is a cesql filter', () => {
    expect(trigger.filter.kind).toBe('filters');
    expect(trigger.filterSpec.filters?.[0]).toHaveProperty('cesql');
  });

  it('selects every destructive change and nothing else', () => {
    expect(matches('dev.tributary.db.row.deleted', '/db/app/public/users')).toBe(true);
    expect(matches('dev.tributary.db.table.truncated', '/db/app/public/files')).toBe(true);
    expect(matches('dev.tributary.storage.object.removed', '/storage/uploads')).toBe(true);
    expect(matches('dev.tributary.storage.bucket.removed', '/storage/uploads')).toBe(true);
    expect(matches('dev.tributary.db.row.inserted', '/db/app/public/users')).toBe(false);
    expect(matches('dev.tributary.db.row.updated', '/db/app/public/users')).toBe(false);
    expect(matches('dev.tributary.storage.object.created', '/storage/uploads')).toBe(false);
    // The type alone is not enough: a deletion claimed by another source is not audited.
    expect(matches('dev.tributary.db.row.deleted', '/functions/x')).toBe(false);
  });
});

describe('audit-log (unit)', () => {
  it('describes a deleted row by table and key, keeping the old row', () => {
    const e = event('dev.tributary.db.row.deleted', '/db/app/public/users', {
      subject: '42',
      data: { schema: 'public', table: 'users', old_record: { id: 42 } },
    });
    expect(auditEntry(e)).toEqual({
      action: 'row.deleted',
      resource: 'public.users/42',
      type: 'dev.tributary.db.row.deleted',
      source: '/db/app/public/users',
      eventId: 'e-1',
      subject: '42',
      occurredAt: '2026-01-02T03:04:05.000Z',
      details: { id: 42 },
    });
  });

  it('describes truncates, removed objects and buckets, and any other event', () => {
    const t = auditEntry(
      event('dev.tributary.db.table.truncated', '/db/app/public/files', {
        data: { schema: 'public', table: 'files' },
      }),
    );
    expect([t.action, t.resource, t.details]).toEqual(['table.truncated', 'public.files', null]);
    const o = auditEntry(
      event('dev.tributary.storage.object.removed', '/storage/uploads', {
        subject: 'a b.txt',
        data: { bucket: 'uploads', key: 'a b.txt', eventName: 's3:ObjectRemoved:Delete' },
      }),
    );
    expect([o.action, o.resource]).toEqual(['object.removed', 'uploads/a b.txt']);
    expect(o.details).toEqual({ bucket: 'uploads', key: 'a b.txt', eventName: 's3:ObjectRemoved:Delete' });
    const b = auditEntry(
      event('dev.tributary.storage.bucket.removed', '/storage/old', { data: { bucket: 'old' } }),
    );
    expect([b.action, b.resource]).toEqual(['bucket.removed', 'old']);
    const other = auditEntry(event('com.example.account.closed', '/accounts', { subject: 'acct-7' }));
    expect([other.action, other.resource, other.details]).toEqual([
      'com.example.account.closed',
      'acct-7',
      null,
    ]);
  });

  it('accepts any object data, or none, but not mistyped fields', () => {
    expect(schema.safeParse(undefined).success).toBe(true);
    expect(schema.safeParse({ anything: 1 }).success).toBe(true);
    expect(schema.safeParse({ table: 5 }).success).toBe(false);
  });

  it('without DATABASE_URL writes the log line only', async () => {
    await init({});
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ name: 't', level: 'info' }).child({});
    log.info = ((obj: Record<string, unknown>) => {
      lines.push(obj);
    }) as typeof log.info;
    const e = event('dev.tributary.db.row.deleted', '/db/app/public/users', {
      subject: '7',
      data: { schema: 'public', table: 'users', old_record: { id: 7, email: 'x@example.com' } },
    });
    await handle(
      { log, headers: {}, method: 'POST', query: {}, body: e.data, cloudevent: e, functionName: 'audit-log' },
      e,
    );
    expect(lines).toEqual([
      { audit: expect.objectContaining({ action: 'row.deleted', resource: 'public.users/7' }) },
    ]);
    // The removed row's contents are not logged.
    expect(JSON.stringify(lines)).not.toContain('x@example.com');
  });

  it('names the variable when the table setting is invalid', async () => {
    await expect(init({ AUDIT_LOG_TABLE: 'audit; drop table x' })).rejects.toThrow(
      'AUDIT_LOG_TABLE: AUDIT_LOG_TABLE must be schema.table',
    );
  });
});
