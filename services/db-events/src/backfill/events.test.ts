import { describe, expect, it } from '@jest/globals';
import { type DbRowReadData, dbSource, EVENT_TYPES, RAW_DATA, toKafkaMessage } from '@tributary/shared';
import { CloudEvent } from 'cloudevents';
import type { DecodedEvent } from '../decoding/changes.js';
import { type JsonValue, TypeRegistry } from '../decoding/values.js';
import { formatLsn, type Lsn } from '../replication/lsn.js';
import { CopyRows } from './copy-rows.js';
import { readEvents as readEventsOf } from './events.js';
import type { PlanColumn, TablePlan } from './table.js';

const types = new TypeRegistry();
const col = (name: string, typeOid: number, inRecord = true) => ({
  name,
  typeOid,
  typeName: 'x',
  inRecord,
  convert: types.converter(typeOid),
});
const plan: TablePlan = {
  schema: 'app',
  table: 'lines',
  qualified: 'app.lines',
  quoted: '"app"."lines"',
  columns: [col('tenant', 25), col('n', 23), col('at', 1184), col('meta', 3802), col('hidden', 23, false)],
  keyIndexes: [0, 4],
  keyColumns: ['tenant', 'hidden'],
  where: undefined,
};

/** A row's COPY text (text format: tab-separated, `\\N` for NULL, backslash escapes). */
function copyLine(row: readonly (string | null)[]): string {
  const escapes: Record<string, string> = {
    '\\': '\\\\',
    '\b': '\\b',
    '\f': '\\f',
    '\n': '\\n',
    '\r': '\\r',
    '\t': '\\t',
    '\v': '\\v',
  };
  return `${row.map((v) => (v === null ? '\\N' : v.replace(/[\\\b\f\n\r\t\v]/g, (c) => escapes[c] as string))).join('\t')}\n`;
}

/** The rows as Postgres would send them for a chunk's COPY, in CopyData pieces of `piece` bytes (0: per row). */
function copyRows(p: TablePlan, rows: readonly (string | null)[][], piece = 0): CopyRows {
  const out = new CopyRows(p.columns.length, p.keyIndexes, 4);
  if (piece === 0) for (const r of rows) out.push(Buffer.from(copyLine(r)));
  else {
    const all = Buffer.from(rows.map(copyLine).join(''));
    for (let i = 0; i < all.length; i += piece) out.push(all.subarray(i, i + piece));
  }
  out.finish();
  return out;
}

function readEvents(
  p: TablePlan,
  rows: readonly (string | null)[][],
  lowLsn: Lsn,
  ctx: { database: string; backfillId: string; readAt: string },
  piece = 0,
): DecodedEvent[] {
  return readEventsOf(p, copyRows(p, rows, piece), undefined, lowLsn, ctx);
}

describe('readEvents', () => {
  it('builds the same CloudEvent as the SDK constructor would, with insert-shaped data', () => {
    const [e] = readEvents(plan, [['t1', '5', '2024-01-02 03:04:05+00', '{"a":[1]}', '9']], 0x1a2b3c8n, {
      database: 'db',
      backfillId: 'b1',
      readAt: '2026-12-05T10:00:00.000Z',
    });
    if (!e) throw new Error('no event');
    const { data, ...attrs } = JSON.parse(JSON.stringify(e.event)) as Record<string, unknown>;
    const sdk = new CloudEvent<unknown>({ ...attrs, data }, false);
    expect(Object.keys(e.event)).toEqual(Object.keys(sdk));
    expect(JSON.stringify(e.event)).toBe(JSON.stringify(sdk));
    expect(e.event).toBeInstanceOf(CloudEvent);
    expect(Object.isFrozen(e.event)).toBe(true);
    expect(e.event.validate()).toBe(true);
    expect(e.event).toMatchObject({
      id: 'backfill-b1-t1,9',
      type: 'dev.tributary.db.row.read',
      source: '/db/db/app/lines',
      subject: 't1,9',
      lsn: '0/1A2B3C8',
      partitionkey: 'app.lines/t1,9',
      backfill: 'b1',
      txid: '0',
    });
    // A key column outside the publication's column list pages the table but stays out of the record.
    expect(e.event.data).toEqual({
      type: 'READ',
      schema: 'app',
      table: 'lines',
      commit_timestamp: '2026-12-05T10:00:00.000Z',
      lsn: '0/1A2B3C8',
      txid: 0,
      record: { tenant: 't1', n: 5, at: '2024-01-02T03:04:05Z', meta: { a: [1] } },
      old_record: null,
      unchanged_toast: [],
    });
  });
});

/**
 * The construction before the per-row work was cut (commit 883661e): a record filled column by column, the
 * general converters, `Object.create(CloudEvent.prototype)` with assignments. The new one must give the same
 * objects, property order and JSON bytes.
 */
function previousReadEvents(
  plan: TablePlan,
  rows: readonly (string | null)[][],
  lowLsn: Lsn,
  ctx: { database: string; backfillId: string; readAt: string },
): DecodedEvent[] {
  const source = dbSource(ctx.database, plan.schema, plan.table);
  const lsn = formatLsn(lowLsn);
  return rows.map((row) => {
    const record: Record<string, JsonValue> = {};
    plan.columns.forEach((col: PlanColumn, i) => {
      if (!col.inRecord) return;
      const v = row[i];
      record[col.name] = v === null || v === undefined ? null : col.convert(v);
    });
    let subject = '';
    plan.keyIndexes.forEach((k, n) => {
      subject += (n > 0 ? ',' : '') + (row[k] ?? '');
    });
    const data: DbRowReadData = {
      type: 'READ',
      schema: plan.schema,
      table: plan.table,
      commit_timestamp: ctx.readAt,
      lsn,
      txid: 0,
      record,
      old_record: null,
      unchanged_toast: [],
    };
    const e = Object.create(CloudEvent.prototype) as Record<string, unknown>;
    Object.assign(e, {
      id: `backfill-${ctx.backfillId}-${subject}`,
      time: ctx.readAt,
      type: EVENT_TYPES.dbRowRead,
      source,
      specversion: '1.0',
      datacontenttype: 'application/json',
      subject,
      datacontentencoding: undefined,
      dataschema: undefined,
      data_base64: undefined,
      schemaurl: undefined,
      data,
      schema: plan.schema,
      table: plan.table,
      lsn,
      txid: '0',
      partitionkey: `${plan.qualified}/${subject}`,
      backfill: ctx.backfillId,
    });
    return { event: Object.freeze(e) as unknown as CloudEvent<unknown>, table: plan.qualified, op: 'READ' };
  });
}

const TIMESTAMPTZ = [
  '2024-01-02 03:04:05+00',
  '2024-01-02 03:04:05.1+00',
  '2024-01-02 03:04:05.123456+00',
  '0001-01-01 00:00:00+00',
  '0001-01-01 00:00:00+00 BC',
  '2024-01-02 03:04:05.5+00 BC',
  '12024-01-02 03:04:05+00',
  '2024-01-02 03:04:05+05:30',
  '2024-01-02 03:04:05-08',
  '2024-01-02 03:04:05+00:00:10',
  'infinity',
  '-infinity',
];
const TIMESTAMP = [
  '2024-01-02 03:04:05',
  '2024-01-02 03:04:05.000001',
  '2024-01-02 03:04:05.1',
  '0044-03-15 12:00:00 BC',
  '0044-03-15 12:00:00.25 BC',
  '294276-12-31 23:59:59.999999',
  'infinity',
  '-infinity',
];
/** jsonb text forms: as Postgres prints them (keys sorted, `, ` and `: `), and some it never would. */
const JSONB = [
  '{"tags": ["a", "b"], "tier": 3}',
  '{"x": null, "n": 1.50, "big": 123456789012345678901234567890, "e": 0.0000001, "neg": -0, "f": 0.1}',
  '{"1": "first", "b": [true, false, null], "10": {}}',
  '{"s": "q\\"uote \\\\ back\\nnl\\t\\u0001 é 😀 \u2028", "empty": "", "arr": [[], [{}]]}',
  '[1, -2.5, 3.14159265358979, 9007199254740993, 1e2]',
  '"just a string"',
  '42',
  'null',
  '{"esc": "\\u00e9 \\/ \\u001F"}',
];
const TEXTS = [
  'customer "quoted" \\ back',
  'tab\there\nnewline\rcr\bbs\fff\vvt',
  'ctl \u0001\u001f\u007f del',
  'ünïcödé 日本 😀 \u2028\u2029',
  '\\N',
  '',
  ' ',
];

/** Column types and a text form for each, per row `i`: every path of json-text.ts, NULLs included. */
const WIDE: [string, number, (i: number) => string | null][] = [
  ['id', 20, (i) => String(i)],
  ['name', 25, (i) => (i % 7 === 0 ? null : `${TEXTS[i % TEXTS.length]} ${i}`)],
  ['amount', 1700, (i) => (i % 9 === 0 ? 'NaN' : (i / 100).toFixed(2))],
  ['at', 1184, (i) => TIMESTAMPTZ[i % TIMESTAMPTZ.length] as string],
  ['local', 1114, (i) => TIMESTAMP[i % TIMESTAMP.length] as string],
  ['on', 1082, (i) => (i % 5 === 0 ? '0044-03-15 BC' : i % 6 === 0 ? 'infinity' : '2024-02-29')],
  ['attrs', 3802, (i) => (i % 3 === 0 ? null : (JSONB[i % JSONB.length] as string))],
  ['doc', 114, (i) => `{"b": 1, "a": [1.0, "x\\ty"], "b": 2}${i % 2 ? ' ' : ''}`],
  ['ok', 16, (i) => (i % 2 === 0 ? 't' : 'f')],
  ['ratio', 701, (i) => (i % 11 === 0 ? 'NaN' : i % 13 === 0 ? '-Infinity' : String(i / 3))],
  ['r4', 700, (i) => (i % 2 ? '1e+20' : '0.1')],
  ['n', 23, (i) => String(-i)],
  ['small', 21, (i) => String(i % 300)],
  ['tags', 1009, (i) => (i % 2 ? '{a,"b c",NULL,"q\\"x"}' : '{}')],
  ['nums', 1007, () => '{{1,2},{3,NULL}}'],
  ['raw', 17, (i) => (i % 2 ? '\\x0a0b' : '\\x')],
  ['u', 2950, () => 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
  ['span', 1186, () => '1 day 02:03:04'],
  // Named like array indexes: an object orders them first, numerically.
  ['2', 25, (i) => (i % 4 === 0 ? null : 'two')],
  ['10', 23, () => '10'],
  ['0', 16, () => 't'],
  ['we"ird\\ name\u2028', 25, () => 'x'],
];

/** The `data` bytes the Kafka sink writes for an event. */
const sent = (e: CloudEvent<unknown>): string | undefined => toKafkaMessage(e).value?.toString();

describe('read events built as bytes', () => {
  const wide: TablePlan = {
    schema: 'app',
    table: 'wide',
    qualified: 'app.wide',
    quoted: '"app"."wide"',
    columns: WIDE.map(([name, oid]) => col(name, oid)),
    keyIndexes: [0],
    keyColumns: ['id'],
    where: undefined,
  };
  const wideRows = Array.from({ length: 240 }, (_, i) => WIDE.map(([, , f]) => f(i)));
  const ctx = { database: 'db', backfillId: 'bf-1', readAt: '2026-12-05T10:00:00.000Z' };

  it('give the same events, property order and JSON bytes as the construction from column texts', () => {
    for (const [p, input, piece] of [
      [plan, wideRows.map((r, i) => [`t\t${i}`, String(i), r[3] as string, r[6] ?? null, String(i % 3)]), 0],
      [wide, wideRows, 0],
      // CopyData split anywhere, even inside an escape.
      [wide, wideRows, 7],
    ] as const) {
      const now = readEvents(p, input, 0x1a2b3c8n, ctx, piece);
      const before = previousReadEvents(p, input, 0x1a2b3c8n, ctx);
      expect(now).toHaveLength(before.length);
      now.forEach((d, i) => {
        const b = before[i] as DecodedEvent;
        // The bytes the sink writes are exactly JSON.stringify of the data built from column texts.
        expect(sent(d.event)).toBe(JSON.stringify(b.event.data));
        expect(JSON.stringify(d.event)).toBe(JSON.stringify(b.event));
        expect(Object.keys(d.event)).toEqual(Object.keys(b.event));
        expect(Object.keys((d.event.data as DbRowReadData).record)).toEqual(
          Object.keys((b.event.data as DbRowReadData).record),
        );
        // The same values, but for jsonb's -0, which is 0 once parsed from bytes (JSON has no -0: it was
        // sent as 0 before too).
        expect(d.event).toEqual({
          ...b.event,
          data: JSON.parse(JSON.stringify(b.event.data)),
          [RAW_DATA]: (d.event as unknown as Record<symbol, unknown>)[RAW_DATA],
        });
        expect(d.event.data).toBe(d.event.data);
        expect(Object.getPrototypeOf(d.event)).toBe(CloudEvent.prototype);
        expect(Object.isFrozen(d.event)).toBe(true);
        expect([d.table, d.op]).toEqual([b.table, b.op]);
      });
    }
  });

  it('emit only the kept rows, in the order given', () => {
    const rows = copyRows(wide, wideRows);
    const now = readEventsOf(wide, rows, [3, 5, 200], 0n, ctx);
    const before = previousReadEvents(
      wide,
      [3, 5, 200].map((i) => wideRows[i] as (string | null)[]),
      0n,
      ctx,
    );
    expect(now.map((d) => d.event.subject)).toEqual(['3', '5', '200']);
    expect(now.map((d) => sent(d.event))).toEqual(before.map((b) => JSON.stringify(b.event.data)));
    expect(readEventsOf(wide, rows, [], 0n, ctx)).toEqual([]);
  });

  it('write text that is not UTF-8 as node-postgres decoded it (replacement characters)', () => {
    const p: TablePlan = { ...plan, columns: [col('id', 23), col('s', 25), col('j', 3802)], keyIndexes: [0] };
    const rows = new CopyRows(3, [0]);
    const bad = Buffer.from([0x61, 0xff, 0xc3, 0x28, 0x62]);
    rows.push(Buffer.concat([Buffer.from('1\t'), bad, Buffer.from('\t"'), bad, Buffer.from('"\n')]));
    rows.finish();
    const [d] = readEventsOf(p, rows, undefined, 0n, ctx);
    const text = bad.toString('utf8');
    expect((d?.event.data as DbRowReadData).record).toEqual({ id: 1, s: text, j: text });
    expect(sent(d?.event as CloudEvent<unknown>)).toContain(JSON.stringify(text));
  });

  it('gives a table with a column named __proto__ the object path, with the same result as before', () => {
    const odd: TablePlan = { ...plan, columns: [col('id', 23), col('__proto__', 25)], keyIndexes: [0] };
    const [d] = readEvents(odd, [['1', 'x']], 0n, ctx);
    const [b] = previousReadEvents(odd, [['1', 'x']], 0n, ctx);
    expect(d?.event.data).toEqual(b?.event.data);
    expect(JSON.stringify(d?.event)).toBe(JSON.stringify(b?.event));
  });
});
