/**
 * The change decoder on the Postgres 17 stream of fixtures/pgoutput-pg17.json: each message type becomes the
 * events DESIGN.md §3.1 fixes, and every event's `data` is what the catalog says its type carries. The
 * `@ts-expect-error` cases (checked by `pnpm typecheck`) show that data disagreeing with the catalog does not
 * compile.
 */
import { describe, expect, it } from '@jest/globals';
import {
  catalog,
  type DbRowDeletedData,
  type DbRowInsertedData,
  type DbTableTruncatedData,
  EVENT_TYPES,
} from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';
import { formatLsn } from '../replication/lsn.js';
import { ChangeDecoder, changeEvent, type DecodedEvent, type InvalidMessage } from './changes.js';
import { loadPgOutputFixture, messages } from './fixtures/load.js';
import { decodePgOutput, type PgBegin, type PgMessage, type PgRelation } from './pgoutput.js';
import { pgTimestampToIso } from './time.js';

const stream = messages(loadPgOutputFixture().text).map(decodePgOutput);
const begins = stream.filter((m): m is PgBegin => m.tag === 'begin');
const relations = stream.filter((m): m is PgRelation => m.tag === 'relation');
const itemsId = relations.find((r) => r.name === 'items')!.relationId;

/** Decodes the whole fixture stream, remembering which transaction each event came from. */
function decodeAll(decoder = new ChangeDecoder({ database: 'app' })) {
  const out: { tx: number; decoded: DecodedEvent }[] = [];
  let tx = -1;
  for (const msg of stream) {
    if (msg.tag === 'begin') tx++;
    for (const decoded of decoder.decode(msg)) out.push({ tx, decoded });
  }
  return { decoder, out };
}

const { decoder, out } = decodeAll();
const events = out.map((o) => o.decoded.event as CloudEvent<Record<string, unknown>>);
const lsnOf = (tx: number) => formatLsn((begins[tx] as PgBegin).finalLsn);
const timeOf = (tx: number) => pgTimestampToIso((begins[tx] as PgBegin).commitTime);

const row = {
  name: 'ada',
  price: '12.50',
  tags: ['a', 'b c'],
  meta: { x: [1, 2] },
  big: 'x'.repeat(4000),
  mood: 'happy',
  flag: true,
  data: Buffer.from('deadbeef', 'hex').toString('base64'),
  at: '2024-05-01T10:20:30.123456Z',
  note: null,
};
const { big: _big, ...rowWithoutBig } = row;

describe('ChangeDecoder on Postgres 17 pgoutput', () => {
  it('yields one event per change and outbox message, none for Begin, Commit, Relation, Type, Origin', () => {
    expect(out.map((o) => [o.tx, o.decoded.op, o.decoded.table])).toEqual([
      [0, 'INSERT', 'fx.items'],
      [1, 'UPDATE', 'fx.items'],
      [2, 'UPDATE', 'fx.items'],
      [3, 'INSERT', 'fx.audit'],
      [4, 'UPDATE', 'fx.audit'],
      [5, 'DELETE', 'fx.audit'],
      [6, 'DELETE', 'fx.items'],
      [7, 'INSERT', 'fx.audit'],
      [7, 'MESSAGE', undefined],
      // The heartbeat's prefix is not the outbox's: no event.
      [8, 'TRUNCATE', 'fx.items'],
      [8, 'TRUNCATE', 'fx.audit'],
      [9, 'INSERT', 'fx.audit'], // the Origin message changes nothing
    ]);
    expect(decoder.inTransaction).toBe(false);
  });

  it('every event is valid for its catalog type', () => {
    for (const e of events) {
      if (e.type.startsWith('dev.tributary.'))
        expect(catalog.validate(e, { attributes: true })).toEqual({ ok: true });
    }
  });

  it('insert: attributes and data of DESIGN.md §3.1, values mapped by type (the enum via its Type message)', () => {
    const e = events[0]!;
    // Through JSON: the event's own RAW_DATA symbol (its data bytes) is no attribute.
    expect({ ...JSON.parse(JSON.stringify(e)), data: undefined }).toEqual({
      specversion: '1.0',
      id: `${lsnOf(0)}-0`,
      type: EVENT_TYPES.dbRowInserted,
      source: '/db/app/fx/items',
      subject: '1',
      // The SDK keeps `time` to the millisecond; `data.commit_timestamp` has the microseconds.
      time: new Date(timeOf(0)).toISOString(),
      datacontenttype: 'application/json',
      schema: 'fx',
      table: 'items',
      lsn: lsnOf(0),
      txid: String(begins[0]?.xid),
      partitionkey: 'fx.items/1',
      data: undefined,
    });
    const data: DbRowInsertedData = {
      type: 'INSERT',
      schema: 'fx',
      table: 'items',
      commit_timestamp: timeOf(0),
      lsn: lsnOf(0),
      txid: begins[0]!.xid,
      record: { id: '1', ...row },
      old_record: null,
      unchanged_toast: [],
    };
    expect(e.data).toEqual(data);
  });

  it('update keeping the key: unchanged TOAST left out and named, old_record the key', () => {
    expect(events[1]?.data).toMatchObject({
      type: 'UPDATE',
      record: { id: '1', ...rowWithoutBig, name: 'ada lovelace' },
      old_record: { id: '1' },
      unchanged_toast: ['big'],
    });
    expect(events[1]?.data?.record).not.toHaveProperty('big');
    expect(events[1]?.id).toBe(`${lsnOf(1)}-0`);
  });

  it('update of the key: old_record the old key, subject the new one', () => {
    expect(events[2]?.data).toMatchObject({
      type: 'UPDATE',
      record: { id: '2', name: 'ada lovelace' },
      old_record: { id: '1' },
      unchanged_toast: ['big'],
    });
    expect(events[2]?.subject).toBe('2');
  });

  it('REPLICA IDENTITY FULL: old_record the whole old row; no subject without a known key', () => {
    expect(
      events.slice(3, 6).map((e) => [e.data?.type, e.data?.record, e.data?.old_record, e.subject]),
    ).toEqual([
      ['INSERT', { id: 7, note: 'first' }, null, undefined],
      ['UPDATE', { id: 7, note: 'second' }, { id: 7, note: 'first' }, undefined],
      ['DELETE', null, { id: 7, note: 'second' }, undefined],
    ]);
    expect(events[3]?.partitionkey).toBe('fx.audit');
  });

  it('delete under the default identity: old_record the key', () => {
    const data: DbRowDeletedData = {
      type: 'DELETE',
      schema: 'fx',
      table: 'items',
      commit_timestamp: timeOf(6),
      lsn: lsnOf(6),
      txid: begins[6]!.xid,
      record: null,
      old_record: { id: '2' },
      unchanged_toast: [],
    };
    expect(events[6]?.data).toEqual(data);
    expect(events[6]?.subject).toBe('2');
  });

  it('outbox message: the app event, numbered after the change before it in its transaction', () => {
    expect(events[8]?.toJSON()).toEqual({
      specversion: '1.0',
      id: `${lsnOf(7)}-1`,
      type: 'com.example.hello',
      source: '/db/app/messages',
      time: new Date(timeOf(7)).toISOString(),
      datacontenttype: 'application/json',
      data: { n: 1 },
    });
    expect(events[7]?.id).toBe(`${lsnOf(7)}-0`);
  });

  it('truncate: one event per table, no subject, numbered in order', () => {
    const truncated = (table: string): DbTableTruncatedData => ({
      type: 'TRUNCATE',
      schema: 'fx',
      table,
      commit_timestamp: timeOf(8),
      lsn: lsnOf(8),
      txid: begins[8]!.xid,
      record: null,
      old_record: null,
      unchanged_toast: [],
    });
    expect(events.slice(9, 11).map((e) => [e.id, e.type, e.subject, e.data])).toEqual([
      [`${lsnOf(8)}-0`, EVENT_TYPES.dbTableTruncated, undefined, truncated('items')],
      [`${lsnOf(8)}-1`, EVENT_TYPES.dbTableTruncated, undefined, truncated('audit')],
    ]);
  });

  it('a replicated transaction: the commit time is the origin commit time', () => {
    expect(events[11]?.time).toBe('2024-05-01T10:20:30.000000Z');
    expect(events[11]?.data?.commit_timestamp).toBe('2024-05-01T10:20:30.000000Z');
  });

  it('uses the primary key for the subject of a FULL relation once told it', () => {
    const d = new ChangeDecoder({ database: 'app' });
    const auditRel = relations.find((r) => r.name === 'audit')!;
    d.decode(stream[0]!);
    d.decode(auditRel);
    d.setPrimaryKey(auditRel.relationId, ['id']);
    const insert = stream.find((m) => m.tag === 'insert' && m.relationId === auditRel.relationId)!;
    expect(d.decode(insert)[0]?.event.subject).toBe('7');
  });

  it('emits an invalid outbox message as dev.tributary.db.message.invalid and reports it', () => {
    const seen: InvalidMessage[] = [];
    const d = new ChangeDecoder({ database: 'app', onInvalidMessage: (i) => seen.push(i) });
    d.decode(stream[0]!);
    const msg: PgMessage = {
      tag: 'message',
      transactional: true,
      lsn: begins[0]!.finalLsn,
      prefix: 'tributary',
      content: Buffer.from('{"data":1,"Bad-Ext":2}'),
    };
    const [decoded] = d.decode(msg);
    const error = '"type" must be a non-empty string; extension name "Bad-Ext" must match [a-z0-9]{1,20}';
    expect(decoded?.op).toBe('INVALID_MESSAGE');
    expect(decoded?.event.type).toBe(EVENT_TYPES.dbMessageInvalid);
    expect(decoded?.event.data).toEqual({
      prefix: 'tributary',
      content: '{"data":1,"Bad-Ext":2}',
      error,
      lsn: lsnOf(0),
      txid: begins[0]!.xid,
    });
    expect(catalog.validate(decoded!.event)).toEqual({ ok: true });
    expect(seen).toEqual([{ lsn: begins[0]!.finalLsn, error, content: '{"data":1,"Bad-Ext":2}' }]);
  });

  it('refuses a change for a relation it was not told about, and a change outside a transaction', () => {
    const insert = stream.find((m) => m.tag === 'insert')!;
    expect(() => new ChangeDecoder({ database: 'app' }).decode(insert)).toThrow(
      `pgoutput: change for unknown relation ${itemsId}`,
    );
    const d = new ChangeDecoder({ database: 'app' });
    d.decode(relations[0]!);
    expect(() => d.decode(insert)).toThrow('pgoutput: change outside a transaction');
  });
});

describe('changeEvent is typed by the catalog', () => {
  const rel = { source: '/db/app/public/t', qualified: 'public.t' };
  const base = {
    schema: 'public',
    table: 't',
    commit_timestamp: '2024-01-01T00:00:00.000000Z',
    lsn: '0/1',
    txid: 1,
  };
  const insert: DbRowInsertedData = {
    type: 'INSERT',
    ...base,
    record: {},
    old_record: null,
    unchanged_toast: [],
  };

  it('builds the event the catalog accepts, and each line marked @ts-expect-error does not compile', () => {
    const ok = changeEvent(rel, EVENT_TYPES.dbRowInserted, '0/1-0', insert, undefined);
    expect(catalog.validate(ok.event)).toEqual({ ok: true });
    const { unchanged_toast: _, ...withoutToast } = insert;
    const wrong = [
      // @ts-expect-error insert data under the update type
      () => changeEvent(rel, EVENT_TYPES.dbRowUpdated, 'x', insert, undefined),
      // @ts-expect-error a type that is not a change
      () => changeEvent(rel, EVENT_TYPES.storageObjectCreated, 'x', insert, undefined),
      // @ts-expect-error a field the catalog does not have
      () => changeEvent(rel, EVENT_TYPES.dbRowInserted, 'x', { ...insert, origin: 'x' }, undefined),
      // @ts-expect-error a field the catalog requires is missing
      () => changeEvent(rel, EVENT_TYPES.dbRowInserted, 'x', withoutToast, undefined),
      // @ts-expect-error txid is a number in the catalog
      () => changeEvent(rel, EVENT_TYPES.dbRowInserted, 'x', { ...insert, txid: '1' }, undefined),
    ];
    expect(wrong).toHaveLength(5);
  });
});
