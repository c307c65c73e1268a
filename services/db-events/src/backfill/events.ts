/**
 * The read events of a backfill (DESIGN.md §3.1): `dev.tributary.db.row.read`, with the source, subject,
 * extensions and `data` of an insert, `data.type` "READ", id `backfill-<backfill id>-<subject>` (the same for
 * every delivery of that row in that backfill), extension `backfill`, `lsn` the chunk's low watermark and
 * `time` when the chunk was read.
 *
 * This is the per-row cost of a backfill (docs/BENCHMARKS.md "Table backfill"), so a row is turned into its
 * event with as few allocations as possible: the record by a function compiled once per table (one object
 * literal, a converter per column), the CloudEvent by a constructor (one shape for every read event), and one
 * frozen empty `unchanged_toast` shared by all. events.test.ts checks the result against the straightforward
 * construction, property order and JSON bytes included.
 */
import { type DbRowReadData, dbSource, EVENT_TYPES } from '@tributary/shared';
import { CloudEvent } from 'cloudevents';
import type { DecodedEvent } from '../decoding/changes.js';
import type { Converter, JsonValue } from '../decoding/values.js';
import { formatLsn, type Lsn } from '../replication/lsn.js';
import type { PlanColumn, TablePlan } from './table.js';

export interface ReadContext {
  database: string;
  backfillId: string;
  /** When the chunk was read (ISO-8601). */
  readAt: string;
}

/**
 * A CloudEvent with exactly the own properties, in the same order, that `new CloudEvent(attrs, false)` gives
 * (then frozen, as the SDK does), without the constructor's object spread, per-property deletes and extension
 * scan, which cost more than the rest of a read event together (events.test.ts checks the two are equal). Only
 * for attributes built here: core attributes as strings, JSON `data`, valid extension names. A constructor
 * function (its prototype is CloudEvent's) so that V8 gives every read event one shape with in-object fields.
 */
function ReadCloudEvent(
  this: Record<string, unknown>,
  id: string,
  time: string,
  source: string,
  subject: string,
  schema: string,
  table: string,
  lsn: string,
  partitionkey: string,
  backfill: string,
  data: DbRowReadData,
): void {
  this.id = id;
  this.time = time;
  this.type = EVENT_TYPES.dbRowRead;
  this.source = source;
  this.specversion = '1.0';
  this.datacontenttype = 'application/json';
  this.subject = subject;
  this.datacontentencoding = undefined;
  this.dataschema = undefined;
  this.data_base64 = undefined;
  this.schemaurl = undefined;
  this.data = data;
  // Extensions, in the order the constructor would copy them.
  this.schema = schema;
  this.table = table;
  this.lsn = lsn;
  this.txid = '0';
  this.partitionkey = partitionkey;
  this.backfill = backfill;
  Object.freeze(this);
}
ReadCloudEvent.prototype = CloudEvent.prototype;

const NewReadCloudEvent = ReadCloudEvent as unknown as new (
  ...args: Parameters<typeof ReadCloudEvent>
) => CloudEvent<unknown>;

/** A read event has no unchanged TOAST columns: one frozen empty list for all of them. */
const NO_UNCHANGED_TOAST = Object.freeze([]) as unknown as string[];

/** `backfill-<backfill id>-<subject>` */
export function readEventId(backfillId: string, subject: string): string {
  return `backfill-${backfillId}-${subject}`;
}

const DASH = 45;
const SPACE = 32;
const COLON = 58;
const DOT = 46;

/**
 * The common text forms of timestamps (DateStyle ISO, TimeZone UTC, a four-digit AD year) to ISO-8601 without
 * the general converter's regular expression: `2024-01-02 03:04:05.123+00` -> `2024-01-02T03:04:05.123Z`,
 * `2024-01-02 03:04:05` -> `2024-01-02T03:04:05`. Anything else (BC, infinity, other offsets, longer years)
 * goes to the general converter; events.test.ts checks both give the same.
 */
function isoTimestampShape(t: string, end: number): boolean {
  return (
    t.charCodeAt(4) === DASH &&
    t.charCodeAt(7) === DASH &&
    t.charCodeAt(10) === SPACE &&
    t.charCodeAt(13) === COLON &&
    t.charCodeAt(16) === COLON &&
    (end === 19 || (end > 20 && t.charCodeAt(19) === DOT))
  );
}

export function fastConverter(col: Pick<PlanColumn, 'typeOid' | 'convert'>): Converter {
  const general = col.convert;
  if (col.typeOid === 1184) {
    // timestamptz
    return (t) => {
      const end = t.length - 3;
      return t.endsWith('+00') && isoTimestampShape(t, end)
        ? `${t.slice(0, 10)}T${t.slice(11, end)}Z`
        : general(t);
    };
  }
  if (col.typeOid === 1114) {
    // timestamp
    return (t) => {
      const last = t.charCodeAt(t.length - 1);
      return last >= 48 && last <= 57 && isoTimestampShape(t, t.length)
        ? `${t.slice(0, 10)}T${t.slice(11)}`
        : general(t);
    };
  }
  return general;
}

type RecordMapper = (row: readonly (string | null)[]) => Record<string, JsonValue>;

const mappers = new WeakMap<TablePlan, RecordMapper>();

/**
 * The record of a row: a function compiled once per plan that returns one object literal, the published
 * columns in column order, each through its converter (NULL stays null). Column names go in as JSON string
 * literals; a table with a column named `__proto__` (which an object literal would take as the prototype) gets
 * the generic loop instead.
 */
function recordMapper(plan: TablePlan): RecordMapper {
  let mapper = mappers.get(plan);
  if (mapper) return mapper;
  const inRecord = plan.columns.map((col, i) => ({ col, i })).filter(({ col }) => col.inRecord);
  const converters = inRecord.map(({ col }) => fastConverter(col));
  if (inRecord.some(({ col }) => col.name === '__proto__')) {
    mapper = (row) => {
      const record: Record<string, JsonValue> = {};
      for (let j = 0; j < inRecord.length; j++) {
        const { col, i } = inRecord[j] as { col: PlanColumn; i: number };
        const v = row[i];
        record[col.name] = v === null || v === undefined ? null : (converters[j] as Converter)(v);
      }
      return record;
    };
  } else {
    const fields = inRecord.map(
      ({ col, i }, j) => `${JSON.stringify(col.name)}: (v = row[${i}]) == null ? null : c${j}(v)`,
    );
    const params = converters.map((_, j) => `c${j}`);
    // Compiled from column positions and JSON-quoted names only: no text of the table reaches it unquoted.
    const build = new Function(...params, `return (row) => { let v; return { ${fields.join(', ')} }; };`);
    mapper = build(...converters) as RecordMapper;
  }
  mappers.set(plan, mapper);
  return mapper;
}

/** Builds the read events of `rows` (column texts in {@link TablePlan.columns} order). */
export function readEvents(
  plan: TablePlan,
  rows: readonly (string | null)[][],
  lowLsn: Lsn,
  ctx: ReadContext,
): DecodedEvent[] {
  const source = dbSource(ctx.database, plan.schema, plan.table);
  const lsn = formatLsn(lowLsn);
  const { schema, table, qualified } = plan;
  const { backfillId, readAt } = ctx;
  const idPrefix = readEventId(backfillId, '');
  const keyPrefix = `${qualified}/`;
  const keys = plan.keyIndexes;
  const singleKey = keys.length === 1 ? (keys[0] as number) : -1;
  const mapRecord = recordMapper(plan);
  const out: DecodedEvent[] = new Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] as (string | null)[];
    let subject: string;
    if (singleKey >= 0) subject = row[singleKey] ?? '';
    else {
      subject = '';
      for (let k = 0; k < keys.length; k++) subject += (k > 0 ? ',' : '') + (row[keys[k] as number] ?? '');
    }
    const data: DbRowReadData = {
      type: 'READ',
      schema,
      table,
      commit_timestamp: readAt,
      lsn,
      txid: 0,
      record: mapRecord(row),
      old_record: null,
      unchanged_toast: NO_UNCHANGED_TOAST,
    };
    const event = new NewReadCloudEvent(
      idPrefix + subject,
      readAt,
      source,
      subject,
      schema,
      table,
      lsn,
      keyPrefix + subject,
      backfillId,
      data,
    );
    out[r] = { event, table: qualified, op: 'READ' };
  }
  return out;
}
