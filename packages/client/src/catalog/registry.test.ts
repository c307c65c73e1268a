import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { InvalidCloudEventError } from '../cloudevents/errors.js';
import { createCloudEvent } from '../cloudevents/event.js';
import { catalog, EventCatalog, isEventType, type TypedCloudEvent, validateEvent } from './registry.js';
import { REDACTED, secret } from './secrets.js';
import { dbPartitionKey, dbSource, EVENT_TYPES, storageSource } from './types.js';

function rowInserted(data: unknown) {
  return createCloudEvent({
    type: EVENT_TYPES.dbRowInserted,
    source: dbSource('app', 'public', 'users'),
    id: '0/1A2B3C8-4',
    subject: '42',
    partitionkey: dbPartitionKey('public', 'users', '42'),
    data,
  });
}

const goodRow = {
  type: 'INSERT',
  schema: 'public',
  table: 'users',
  record: { id: '42', name: 'Ada', tags: ['a'], meta: { x: 1 } },
  old_record: null,
  commit_timestamp: '2024-05-01T10:20:30.123456Z',
  lsn: '0/1A2B3C8',
  txid: 731,
  unchanged_toast: [],
};

describe('validateEvent with the built-in catalog', () => {
  it('accepts a well-formed db row event', () => {
    expect(validateEvent(rowInserted(goodRow))).toEqual({ ok: true });
  });

  it('names the path and the problem of each failure', () => {
    const r = validateEvent(
      rowInserted({
        ...goodRow,
        type: 'UPDATE',
        table: 7,
        lsn: 'nope',
        txid: -1,
        old_record: undefined,
        unchanged_toast: [3],
      }),
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toEqual([
      'data.table: expected string, got number',
      'data.lsn: expected an LSN like 0/1A2B3C8',
      'data.txid: Too small: expected number to be >=0',
      'data.unchanged_toast[0]: expected string, got number',
      'data.type: expected "INSERT", got "UPDATE"',
      'data.old_record: required (expected null)',
    ]);
  });

  it('reports nested paths in storage and auth data', () => {
    const storage = createCloudEvent({
      type: EVENT_TYPES.storageObjectCreated,
      source: storageSource('photos'),
      data: {
        bucket: 'photos',
        key: 'a.jpg',
        size: 10,
        eTag: 'e',
        contentType: 'image/jpeg',
        versionId: null,
        userMetadata: {},
        eventName: 's3:ObjectCreated:Put',
        record: { eventTime: '2024-01-01T00:00:00Z', eventName: 's3:ObjectCreated:Put', s3: { bucket: {} } },
      },
    });
    expect(validateEvent(storage)).toEqual({
      ok: false,
      issues: ['data.record.s3.bucket.name: required (expected string)'],
    });

    const token = createCloudEvent({
      type: EVENT_TYPES.authTokenIssued,
      source: '/auth',
      data: {
        user_id: 'u1',
        claims: { aud: 'authenticated', exp: 1, iat: 1, sub: 'u1', role: 5 },
        extra_field: true,
      },
    });
    expect(validateEvent(token)).toEqual({
      ok: false,
      issues: ['data.claims.role: expected string, got number'],
    });
  });

  it('accepts extra fields Supabase may add to auth payloads', () => {
    const e = createCloudEvent({
      type: EVENT_TYPES.authEmailRequested,
      source: '/auth',
      subject: 'u1',
      data: {
        metadata: { uuid: 'c0ffee', name: 'send-email', future: 1 },
        user: { id: 'u1', email: 'a@example.com', new_user_field: 'x' },
        email_data: { email_action_type: 'signup', token: '123456', token_hash: 'h', brand_new: true },
      },
    });
    expect(validateEvent(e)).toEqual({ ok: true });
  });

  it('rejects bytes for a JSON type and lets unknown types through', () => {
    const bytes = createCloudEvent({
      type: EVENT_TYPES.dbRowDeleted,
      source: '/db/app/public/users',
      datacontenttype: 'application/octet-stream',
      data: Buffer.from('x'),
    });
    expect(validateEvent(bytes)).toEqual({
      ok: false,
      issues: [
        'data: dev.tributary.db.row.deleted carries JSON data, got datacontenttype application/octet-stream',
      ],
    });
    const unknown = createCloudEvent({ type: 'com.example.whatever', source: '/x', data: 1 });
    expect(validateEvent(unknown)).toEqual({ ok: true });
    expect(validateEvent(unknown, { requireKnownType: true })).toEqual({
      ok: false,
      issues: ['unknown event type "com.example.whatever": not in the catalog'],
    });
  });
});

describe('EventCatalog.register', () => {
  it('validates app types and refuses a silent re-registration', () => {
    const cat = new EventCatalog();
    cat.register('com.example.order.placed', z.object({ orderId: z.string(), total: z.number().positive() }));
    const bad = createCloudEvent({
      type: 'com.example.order.placed',
      source: '/shop',
      data: { orderId: 1, total: -5 },
    });
    expect(validateEvent(bad, { catalog: cat })).toEqual({
      ok: false,
      issues: [
        'data.orderId: expected string, got number',
        'data.total: Too small: expected number to be >0',
      ],
    });
    expect(() => cat.assertValid(bad)).toThrow(InvalidCloudEventError);
    expect(() => cat.assertValid(bad)).toThrow(
      'invalid com.example.order.placed event: data.orderId: expected string',
    );
    expect(() => cat.register('com.example.order.placed', z.object({}))).toThrow('already registered');
    cat.register('com.example.order.placed', z.object({}), { replace: true });
    expect(cat.validate(bad)).toEqual({ ok: true });
  });

  it('knows every DESIGN.md §3 type', () => {
    for (const type of Object.values(EVENT_TYPES)) expect(catalog.has(type)).toBe(true);
    expect(catalog.types()).toHaveLength(Object.values(EVENT_TYPES).length);
  });
});

describe('TypedCloudEvent', () => {
  it('narrows data by type', () => {
    const e = rowInserted(goodRow);
    const seen: string[] = [];
    const handle = (ev: TypedCloudEvent<'dev.tributary.db.row.inserted'>) => {
      // Compiles only because `data` is typed: record is a row, table a string.
      seen.push(`${ev.data?.table}:${String(ev.data?.record.name)}`);
    };
    if (isEventType(e, EVENT_TYPES.dbRowInserted)) handle(e);
    expect(seen).toEqual(['users:Ada']);
  });
});

describe('secret fields', () => {
  it('the catalog marks one-time codes and token hashes secret, and redact() hides them', () => {
    expect(catalog.secretPaths(EVENT_TYPES.authEmailRequested)).toEqual([
      ['email_data', 'token'],
      ['email_data', 'token_hash'],
      ['email_data', 'token_new'],
      ['email_data', 'token_hash_new'],
    ]);
    expect(catalog.secretPaths(EVENT_TYPES.authSmsRequested)).toEqual([['sms', 'otp']]);
    expect(catalog.secretPaths('com.example.unknown')).toEqual([]);
    const data = {
      user: { id: 'u1', email: 'ada@example.com' },
      email_data: { email_action_type: 'magiclink', token: '123456', token_hash: 'abc', site_url: 'x' },
    };
    const r = catalog.redact(EVENT_TYPES.authEmailRequested, data);
    expect(r.redacted).toBe(2);
    expect(r.data).toEqual({
      user: { id: 'u1', email: 'ada@example.com' },
      email_data: { email_action_type: 'magiclink', token: REDACTED, token_hash: REDACTED, site_url: 'x' },
    });
    expect(data.email_data.token).toBe('123456'); // the original is untouched
  });

  it('an app schema can mark its own secrets', () => {
    const c = new EventCatalog();
    c.register('com.example.invite', z.object({ invite: z.object({ code: secret(z.string()) }) }));
    expect(c.redact('com.example.invite', { invite: { code: 'x' } }).data).toEqual({
      invite: { code: REDACTED },
    });
  });
});
