import { describe, expect, it } from '@jest/globals';
import { type DbRowReadData, dbSource, EVENT_TYPES } from '@tributary/shared';
import { CloudEvent } from 'cloudevents';
import type { DecodedEvent } from '../decoding/changes.js';
import { type JsonValue, TypeRegistry } from '../decoding/values.js';
import { formatLsn, type Lsn } from '../replication/lsn.js';
import { fastConverter, readEvents } from './events.js';
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

describe('read events without intermediate objects', () => {
  it('convert timestamps exactly as the general converter does', () => {
    for (const [oid, samples] of [
      [1184, TIMESTAMPTZ],
      [1114, TIMESTAMP],
    ] as const) {
      const general = types.converter(oid);
      const fast = fastConverter({ typeOid: oid, convert: general });
      for (const t of samples) expect([t, fast(t)]).toEqual([t, general(t)]);
    }
  });

  it('give the same events, property order and JSON bytes as the previous construction', () => {
    const wide: TablePlan = {
      schema: 'app',
      table: 'wide',
      qualified: 'app.wide',
      quoted: '"app"."wide"',
      columns: [
        col('id', 20),
        col('name', 25),
        col('amount', 1700),
        col('at', 1184),
        col('local', 1114),
        col('on', 1082),
        col('attrs', 3802),
        col('ok', 16),
        col('ratio', 701),
        col('n', 23),
        col('tags', 1009),
        col('raw', 17),
        col('2', 25),
        col('we"ird\\ name\u2028', 25),
      ],
      keyIndexes: [0],
      keyColumns: ['id'],
      where: undefined,
    };
    const rows: (string | null)[][] = [];
    for (let i = 0; i < 200; i++) {
      rows.push([
        String(i),
        i % 7 === 0 ? null : `customer ${i} "quoted" \\ ünïcode`,
        (i / 100).toFixed(2),
        TIMESTAMPTZ[i % TIMESTAMPTZ.length] as string,
        TIMESTAMP[i % TIMESTAMP.length] as string,
        i % 5 === 0 ? '0044-03-15 BC' : '2024-02-29',
        i % 3 === 0 ? null : `{"tier": ${i % 5}, "tags": ["a", "b"], "nested": {"x": null}}`,
        i % 2 === 0 ? 't' : 'f',
        i % 11 === 0 ? 'NaN' : String(i / 3),
        String(-i),
        '{a,"b c",NULL}',
        '\\x0a0b',
        i % 4 === 0 ? null : 'two',
        'x',
      ]);
    }
    const ctx = { database: 'db', backfillId: 'bf-1', readAt: '2026-12-05T10:00:00.000Z' };
    for (const p of [plan, wide]) {
      const input =
        p === plan
          ? rows.map((r, i) => [`t${i}`, String(i), r[3] as string, r[6] ?? null, String(i % 3)])
          : rows;
      const now = readEvents(p, input, 0x1a2b3c8n, ctx);
      const before = previousReadEvents(p, input, 0x1a2b3c8n, ctx);
      expect(now).toHaveLength(before.length);
      now.forEach((d, i) => {
        const b = before[i] as DecodedEvent;
        expect(JSON.stringify(d.event)).toBe(JSON.stringify(b.event));
        expect(Object.keys(d.event)).toEqual(Object.keys(b.event));
        expect(Object.keys((d.event.data as DbRowReadData).record)).toEqual(
          Object.keys((b.event.data as DbRowReadData).record),
        );
        expect(d.event).toEqual(b.event);
        expect(Object.getPrototypeOf(d.event)).toBe(CloudEvent.prototype);
        expect(Object.isFrozen(d.event)).toBe(true);
        expect([d.table, d.op]).toEqual([b.table, b.op]);
      });
    }
  });

  it('gives a table with a column named __proto__ the generic path, with the same result as before', () => {
    const odd: TablePlan = { ...plan, columns: [col('id', 23), col('__proto__', 25)], keyIndexes: [0] };
    const ctx = { database: 'db', backfillId: 'b', readAt: '2026-12-05T10:00:00.000Z' };
    const [d] = readEvents(odd, [['1', 'x']], 0n, ctx);
    const [b] = previousReadEvents(odd, [['1', 'x']], 0n, ctx);
    expect(d?.event.data).toEqual(b?.event.data);
    expect(JSON.stringify(d?.event)).toBe(JSON.stringify(b?.event));
  });
});
