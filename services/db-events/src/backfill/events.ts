/**
 * The read events of a backfill (DESIGN.md §3.1): `dev.tributary.db.row.read`, with the source, subject,
 * extensions and `data` of an insert, `data.type` "READ", id `backfill-<backfill id>-<subject>` (the same for
 * every delivery of that row in that backfill), extension `backfill`, `lsn` the chunk's low watermark and
 * `time` when the chunk was read.
 *
 * This is the per-row cost of a backfill (docs/BENCHMARKS.md "Table backfill"), so a row becomes its event
 * without a JS value per column: the JSON bytes of `data` are written straight from the chunk's COPY text
 * (copy-rows.ts) by json-text.ts, and the event carries them as its raw data (`encodeData` and so the sinks
 * write them as they are); `data` itself is parsed from those bytes only if something reads it. The CloudEvent
 * is built by a constructor (one shape for every read event). events.test.ts checks the result against the
 * straightforward construction from column texts: property order, JSON bytes, parsed `data`.
 */
import { type DbRowReadData, dbSource, EVENT_TYPES, RAW_DATA, recalledRawData } from '@tributary/shared';
import { CloudEvent } from 'cloudevents';
import type { DecodedEvent } from '../decoding/changes.js';
import { JsonOut, type JsonTextWriter, jsonTextWriter } from '../decoding/json-text.js';
import { isTextForm, type JsonValue } from '../decoding/values.js';
import { formatLsn, type Lsn } from '../replication/lsn.js';
import type { CopyRows } from './copy-rows.js';
import type { TablePlan } from './table.js';

export interface ReadContext {
  database: string;
  backfillId: string;
  /** When the chunk was read (ISO-8601). */
  readAt: string;
}

/** `data` of the read events built from bytes, parsed when first read. */
const parsedData = new WeakMap<object, DbRowReadData>();
function lazyData(this: object): DbRowReadData {
  let d = parsedData.get(this);
  if (d === undefined) {
    d = JSON.parse((recalledRawData(this) as Buffer).toString('utf8')) as DbRowReadData;
    parsedData.set(this, d);
  }
  return d;
}
const LAZY_DATA: PropertyDescriptor = { get: lazyData, enumerable: true, configurable: false };

/**
 * A CloudEvent with exactly the own properties, in the same order, that `new CloudEvent(attrs, false)` gives
 * (then frozen, as the SDK does), without the constructor's object spread, per-property deletes and extension
 * scan, which cost more than the rest of a read event together (events.test.ts checks the two are equal). Only
 * for attributes built here: core attributes as strings, JSON `data`, valid extension names. A constructor
 * function (its prototype is CloudEvent's) so that V8 gives every read event one shape with in-object fields.
 * `data` is either an object or, when undefined, an enumerable getter in the same place that parses `raw`,
 * the JSON bytes of `data`, which the event carries under `RAW_DATA` (packages/client event.ts).
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
  data: DbRowReadData | undefined,
  raw: Buffer | undefined,
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
  // Without a data object, `data` is parsed from the event's raw JSON bytes when first read.
  if (data === undefined) Object.defineProperty(this, 'data', LAZY_DATA);
  else this.data = data;
  // Extensions, in the order the constructor would copy them.
  this.schema = schema;
  this.table = table;
  this.lsn = lsn;
  this.txid = '0';
  this.partitionkey = partitionkey;
  this.backfill = backfill;
  if (raw !== undefined) Object.defineProperty(this, RAW_DATA, { value: raw });
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

type RecordMapper = (row: readonly (string | null)[]) => Record<string, JsonValue>;

/**
 * The record of a row as an object, for a table with a column named `__proto__`: filled column by column as
 * the streaming decoder fills an insert's record (changes.ts `row`), so the two agree even there.
 */
function recordMapper(plan: TablePlan): RecordMapper {
  const inRecord = plan.columns.map((col, i) => ({ col, i })).filter(({ col }) => col.inRecord);
  return (row) => {
    const record: Record<string, JsonValue> = {};
    for (const { col, i } of inRecord) {
      const v = row[i];
      record[col.name] = v === null || v === undefined ? null : col.convert(v);
    }
    return record;
  };
}

/** What is written for the record columns of a plan: per column, `"name":` (after a comma) and its writer. */
interface RecordWriter {
  /** Column positions in the row. */
  index: number[];
  /** `"name":`, with a leading comma from the second column on. */
  name: Buffer[];
  write: JsonTextWriter[];
  /** Bytes of all the names. */
  nameBytes: number;
}

const recordWriters = new WeakMap<TablePlan, RecordWriter | null>();

/** A property name that JS orders before the others, numerically (an array index: 0 .. 2^32 - 2). */
function isArrayIndex(name: string): boolean {
  return /^(0|[1-9][0-9]*)$/.test(name) && Number(name) < 2 ** 32 - 1;
}

/**
 * The record's columns in the order of the insert's record object: columns named like an array index first,
 * in numeric order (JS orders an object's keys so), then the rest in column order. null: the plan has a
 * column named `__proto__`, which the object path must handle as inserts do.
 */
function recordWriter(plan: TablePlan): RecordWriter | null {
  let w = recordWriters.get(plan);
  if (w !== undefined) return w;
  const published = plan.columns.map((col, i) => ({ col, i })).filter(({ col }) => col.inRecord);
  const cols = [
    ...published
      .filter(({ col }) => isArrayIndex(col.name))
      .sort((a, b) => Number(a.col.name) - Number(b.col.name)),
    ...published.filter(({ col }) => !isArrayIndex(col.name)),
  ];
  if (cols.some(({ col }) => col.name === '__proto__')) w = null;
  else {
    const name = cols.map(({ col }, j) => Buffer.from(`${j > 0 ? ',' : ''}${JSON.stringify(col.name)}:`));
    w = {
      index: cols.map(({ i }) => i),
      name,
      write: cols.map(({ col }) => jsonTextWriter(col.typeOid, col.convert, isTextForm(col.convert))),
      nameBytes: name.reduce((sum, b) => sum + b.length, 0),
    };
  }
  recordWriters.set(plan, w);
  return w;
}

const NULL = Buffer.from('null');
const DATA_END = Buffer.from('},"old_record":null,"unchanged_toast":[]}');

/**
 * Builds the read events of the rows `kept` (row numbers; all rows when undefined) of a chunk, in that order.
 */
export function readEvents(
  plan: TablePlan,
  rows: CopyRows,
  kept: readonly number[] | undefined,
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
  const writer = recordWriter(plan);
  const mapRecord = writer ? undefined : recordMapper(plan);
  const head = JSON.stringify({ type: 'READ', schema, table, commit_timestamp: readAt, lsn, txid: 0 });
  const dataStart = Buffer.from(`${head.slice(0, -1)},"record":{`);
  const n = kept ? kept.length : rows.length;
  // Room for about the whole chunk in the first block: the record takes about as many bytes as its COPY text.
  const fixed = dataStart.length + DATA_END.length + (writer ? writer.nameBytes : 0);
  const out = new JsonOut(Math.max(4096, Math.ceil(rows.byteLength * 1.25) + n * fixed));
  const events: DecodedEvent[] = new Array(n);
  for (let k = 0; k < n; k++) {
    const r = kept ? (kept[k] as number) : k;
    let subject: string;
    if (singleKey >= 0) subject = rows.text(r, singleKey) ?? '';
    else {
      subject = '';
      for (let j = 0; j < keys.length; j++)
        subject += (j > 0 ? ',' : '') + (rows.text(r, keys[j] as number) ?? '');
    }
    let data: DbRowReadData | undefined;
    let raw: Buffer | undefined;
    if (writer) {
      out.bytes(dataStart);
      const { index, name, write } = writer;
      for (let j = 0; j < index.length; j++) {
        out.bytes(name[j] as Buffer);
        const c = index[j] as number;
        if (rows.isNull(r, c)) out.bytes(NULL);
        else rows.write(r, c, write[j] as JsonTextWriter, out);
      }
      out.bytes(DATA_END);
      raw = out.take();
    } else {
      data = {
        type: 'READ',
        schema,
        table,
        commit_timestamp: readAt,
        lsn,
        txid: 0,
        record: (mapRecord as RecordMapper)(rows.texts(r)),
        old_record: null,
        unchanged_toast: NO_UNCHANGED_TOAST,
      };
    }
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
      raw,
    );
    events[k] = { event, table: qualified, op: 'READ' };
  }
  return events;
}
