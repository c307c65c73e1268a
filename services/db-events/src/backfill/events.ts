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
import { type DbRowReadData, dbSource, EVENT_TYPES, RAW_DATA, RAW_DATA_GETTER } from '@tributary/shared';
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
  this: Record<string | symbol, unknown>,
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
  if (data === undefined) Object.defineProperty(this, 'data', RAW_DATA_GETTER);
  else this.data = data;
  // Extensions, in the order the constructor would copy them.
  this.schema = schema;
  this.table = table;
  this.lsn = lsn;
  this.txid = '0';
  this.partitionkey = partitionkey;
  this.backfill = backfill;
  // A symbol: no attribute, and JSON leaves it out. Assigned, not defined non-enumerable (which costs as much
  // as the rest of the event): a spread copy takes it along, but only a frozen event's is believed.
  this[RAW_DATA] = raw;
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
  /** `"name":null`, likewise. */
  nameNull: Buffer[];
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
      nameNull: name.map((b) => Buffer.concat([b, NULL])),
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
 * The read events of one chunk, built when the pipeline takes them: a chunk's rows are emitted at its HIGH
 * watermark all at once, but the pipeline hands them to the sink a batch at a time, and events that wait in
 * its buffer outlive the young generation (their garbage collection cost more than building them). So the JSON
 * bytes of every kept row are written at HIGH (where a malformed value would fail, as before), and each
 * event's object, strings and byte view only when {@link ReadEvent.event} is first read.
 */
class ChunkEvents {
  readonly source: string;
  readonly lsn: string;
  readonly idPrefix: string;
  readonly keyPrefix: string;
  readonly singleKey: number;
  /** Per event (in order): the row, and where its JSON bytes are. */
  readonly row: Int32Array;
  readonly block: Buffer[];
  readonly start: Int32Array;
  readonly end: Int32Array;
  /** The `data` objects, for a plan without a record writer. */
  readonly data: DbRowReadData[] | undefined;
  private unbuilt: number;

  constructor(
    readonly plan: TablePlan,
    readonly rows: CopyRows,
    kept: readonly number[] | undefined,
    lowLsn: Lsn,
    readonly ctx: ReadContext,
  ) {
    this.source = dbSource(ctx.database, plan.schema, plan.table);
    this.lsn = formatLsn(lowLsn);
    this.idPrefix = readEventId(ctx.backfillId, '');
    this.keyPrefix = `${plan.qualified}/`;
    this.singleKey = plan.keyIndexes.length === 1 ? (plan.keyIndexes[0] as number) : -1;
    const n = kept ? kept.length : rows.length;
    this.unbuilt = n;
    this.row = new Int32Array(n);
    for (let k = 0; k < n; k++) this.row[k] = kept ? (kept[k] as number) : k;
    this.block = new Array(n);
    this.start = new Int32Array(n);
    this.end = new Int32Array(n);
    const writer = recordWriter(plan);
    if (writer) this.write(writer);
    else {
      const mapRecord = recordMapper(plan);
      this.data = Array.from(this.row, (r) => ({
        type: 'READ' as const,
        schema: plan.schema,
        table: plan.table,
        commit_timestamp: ctx.readAt,
        lsn: this.lsn,
        txid: 0,
        record: mapRecord(rows.texts(r)),
        old_record: null,
        unchanged_toast: NO_UNCHANGED_TOAST,
      }));
    }
  }

  /** Writes the JSON bytes of every event's `data`. */
  private write(writer: RecordWriter): void {
    const { plan, rows, row } = this;
    const head = JSON.stringify({
      type: 'READ',
      schema: plan.schema,
      table: plan.table,
      commit_timestamp: this.ctx.readAt,
      lsn: this.lsn,
      txid: 0,
    });
    const dataStart = Buffer.from(`${head.slice(0, -1)},"record":{`);
    const n = row.length;
    // Room for about the whole chunk in the first block: a record takes about as many bytes as its COPY text.
    const fixed = dataStart.length + DATA_END.length + writer.nameBytes;
    const out = new JsonOut(Math.max(4096, Math.ceil(rows.byteLength * 1.25) + n * fixed));
    const { index, name, nameNull, write } = writer;
    for (let k = 0; k < n; k++) {
      out.bytes(dataStart);
      rows.writeMembers(row[k] as number, index, name, nameNull, write, out);
      out.bytes(DATA_END);
      this.block[k] = out.buf;
      this.start[k] = out.start;
      this.end[k] = out.pos;
      out.next();
    }
  }

  /** The CloudEvent of the `k`th event (called once per event). */
  build(k: number): CloudEvent<unknown> {
    const { plan, rows, singleKey } = this;
    const r = this.row[k] as number;
    let subject: string;
    if (singleKey >= 0) subject = rows.text(r, singleKey) ?? '';
    else {
      subject = '';
      const keys = plan.keyIndexes;
      for (let j = 0; j < keys.length; j++)
        subject += (j > 0 ? ',' : '') + (rows.text(r, keys[j] as number) ?? '');
    }
    const block = this.block[k];
    const event = new NewReadCloudEvent(
      this.idPrefix + subject,
      this.ctx.readAt,
      this.source,
      subject,
      plan.schema,
      plan.table,
      this.lsn,
      this.keyPrefix + subject,
      this.ctx.backfillId,
      this.data?.[k],
      block?.subarray(this.start[k], this.end[k]),
    );
    // Every event built: the rows' storage goes to the next chunk.
    if (--this.unbuilt === 0) rows.release();
    return event;
  }
}

/** A read event in the pipeline: its CloudEvent is built when first read. */
class ReadEvent implements DecodedEvent {
  readonly op = 'READ' as const;
  readonly table: string;
  private built: CloudEvent<unknown> | undefined;

  constructor(
    private readonly chunk: ChunkEvents,
    private readonly k: number,
  ) {
    this.table = chunk.plan.qualified;
  }

  get event(): CloudEvent<unknown> {
    this.built ??= this.chunk.build(this.k);
    return this.built;
  }
}

/**
 * The read events of the rows `kept` (row numbers; all rows when undefined) of a chunk, in that order. Their
 * `data` bytes are written now; each CloudEvent is built when first read, after which `rows` is released.
 */
export function readEvents(
  plan: TablePlan,
  rows: CopyRows,
  kept: readonly number[] | undefined,
  lowLsn: Lsn,
  ctx: ReadContext,
): DecodedEvent[] {
  const chunk = new ChunkEvents(plan, rows, kept, lowLsn, ctx);
  const n = chunk.row.length;
  if (n === 0) rows.release();
  const events: DecodedEvent[] = new Array(n);
  for (let k = 0; k < n; k++) events[k] = new ReadEvent(chunk, k);
  return events;
}
