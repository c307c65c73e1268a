/**
 * Row changes' `data` written as JSON bytes from the tuples' bytes (changes.ts) against the construction
 * before it: a record object filled column by column with the converters of values.ts, then `changeEvent`.
 * Over many rows and every column type: the bytes the sinks write are exactly `JSON.stringify` of that
 * object, and the events are the same objects (property order, attributes, parsed data).
 */
import { describe, expect, it } from '@jest/globals';
import {
  catalog,
  type DbChangeData,
  type DbRowDeletedData,
  type DbRowInsertedData,
  type DbRowUpdatedData,
  dbSource,
  EVENT_TYPES,
  RAW_DATA,
  toKafkaMessage,
} from '@tributary/shared';
import { CloudEvent } from 'cloudevents';
import { formatLsn } from '../replication/lsn.js';
import { ChangeDecoder, changeEvent, type DecodedEvent } from './changes.js';
import { decodePgOutput, type ReplicaIdentity, type TupleValue } from './pgoutput.js';
import { pgTimestampToIso } from './time.js';
import { type JsonValue, TypeRegistry } from './values.js';

// --- pgoutput protocol version 1 messages, as Postgres writes them ------------------------------------------

class Writer {
  private readonly parts: Buffer[] = [];
  byte(b: number): this {
    this.parts.push(Buffer.from([b]));
    return this;
  }
  int16(n: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    this.parts.push(b);
    return this;
  }
  int32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    this.parts.push(b);
    return this;
  }
  int64(n: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(n);
    this.parts.push(b);
    return this;
  }
  cstring(s: string): this {
    this.parts.push(Buffer.from(s), Buffer.from([0]));
    return this;
  }
  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** A tuple value: text (string or raw bytes), `null` (n), `undefined` (u, unchanged TOAST), or binary. */
type Value = TupleValue | Buffer | { binary: Buffer };

function tuple(w: Writer, values: readonly Value[]): Writer {
  w.int16(values.length);
  for (const v of values) {
    if (v === null) w.byte(0x6e);
    else if (v === undefined) w.byte(0x75);
    else if (typeof v === 'string' || Buffer.isBuffer(v)) {
      const b = typeof v === 'string' ? Buffer.from(v) : v;
      w.byte(0x74).int32(b.length).raw(b);
    } else w.byte(0x62).int32(v.binary.length).raw(v.binary);
  }
  return w;
}

interface Col {
  name: string;
  typeOid: number;
  isKey: boolean;
}

const begin = (lsn: bigint, time: bigint, xid: number) =>
  new Writer().byte(0x42).int64(lsn).int64(time).int32(xid).done();
const commit = (lsn: bigint, time: bigint) =>
  new Writer()
    .byte(0x43)
    .byte(0)
    .int64(lsn)
    .int64(lsn + 8n)
    .int64(time)
    .done();
const relation = (id: number, schema: string, name: string, identity: ReplicaIdentity, cols: Col[]) => {
  const w = new Writer().byte(0x52).int32(id).cstring(schema).cstring(name).byte(identity.charCodeAt(0));
  w.int16(cols.length);
  for (const c of cols)
    w.byte(c.isKey ? 1 : 0)
      .cstring(c.name)
      .int32(c.typeOid)
      .int32(-1);
  return w.done();
};
const insert = (id: number, values: Value[]) =>
  tuple(new Writer().byte(0x49).int32(id).byte(0x4e), values).done();
const update = (id: number, values: Value[], old?: { kind: 'K' | 'O'; values: Value[] }) => {
  const w = new Writer().byte(0x55).int32(id);
  if (old) tuple(w.byte(old.kind.charCodeAt(0)), old.values);
  return tuple(w.byte(0x4e), values).done();
};
const del = (id: number, kind: 'K' | 'O', values: Value[]) =>
  tuple(new Writer().byte(0x44).int32(id).byte(kind.charCodeAt(0)), values).done();

// --- The construction before: record objects from column texts (changes.ts until this change) -----------------

const types = new TypeRegistry();

/** What the decoder used to see of a value: its text (binary as hex), null, or undefined. */
function text(v: Value): TupleValue {
  if (v === null || v === undefined || typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return v.binary.toString('hex');
}

function previousRow(
  cols: Col[],
  values: readonly Value[],
  toast: string[],
  keyOnly: boolean,
): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (let i = 0; i < cols.length; i++) {
    const col = cols[i] as Col;
    if (keyOnly && !col.isKey) continue;
    const v = i < values.length ? text(values[i] as Value) : undefined;
    if (v === undefined) {
      if (i < values.length) toast.push(col.name);
      continue;
    }
    out[col.name] = v === null ? null : types.converter(col.typeOid)(v);
  }
  return out;
}

function previousSubject(cols: Col[], values: readonly Value[], fallback?: readonly Value[]) {
  const keys = cols.flatMap((c, i) => (c.isKey ? [i] : []));
  if (keys.length === 0) return undefined;
  return keys
    .map((i) => {
      const v = text(values[i] as Value) ?? (fallback ? text(fallback[i] as Value) : undefined);
      return v ?? '';
    })
    .join(',');
}

interface Tx {
  lsn: string;
  time: string;
  xid: number;
  index: number;
}

interface Rel {
  id: number;
  schema: string;
  table: string;
  identity: ReplicaIdentity;
  cols: Col[];
}

type Change =
  | { op: 'INSERT'; values: Value[] }
  | { op: 'UPDATE'; values: Value[]; old?: { kind: 'K' | 'O'; values: Value[] } }
  | { op: 'DELETE'; kind: 'K' | 'O'; values: Value[] };

function previousEvent(rel: Rel, tx: Tx, change: Change): DecodedEvent {
  const base = { schema: rel.schema, table: rel.table, commit_timestamp: tx.time, lsn: tx.lsn, txid: tx.xid };
  const r = { source: dbSource('app', rel.schema, rel.table), qualified: `${rel.schema}.${rel.table}` };
  const id = `${tx.lsn}-${tx.index++}`;
  // REPLICA IDENTITY FULL flags every column, NOTHING none: the subject is the primary key, which the
  // pipeline looks up (the first column here, see `run`).
  const cols =
    rel.identity === 'f' || rel.identity === 'n'
      ? rel.cols.map((c, i) => ({ ...c, isKey: i === 0 }))
      : rel.cols;
  if (change.op === 'INSERT') {
    const toast: string[] = [];
    const record = previousRow(rel.cols, change.values, toast, false);
    const data: DbRowInsertedData = {
      type: 'INSERT',
      ...base,
      record,
      old_record: null,
      unchanged_toast: toast,
    };
    return changeEvent(r, EVENT_TYPES.dbRowInserted, id, data, previousSubject(cols, change.values));
  }
  if (change.op === 'UPDATE') {
    const toast: string[] = [];
    const record = previousRow(rel.cols, change.values, toast, false);
    let old: Record<string, JsonValue> | null = null;
    if (change.old) old = previousRow(rel.cols, change.old.values, [], change.old.kind === 'K');
    else if (rel.identity === 'd' || rel.identity === 'i')
      old = previousRow(rel.cols, change.values, [], true);
    const data: DbRowUpdatedData = {
      type: 'UPDATE',
      ...base,
      record,
      old_record: old,
      unchanged_toast: toast,
    };
    const subject = previousSubject(cols, change.values, change.old?.values);
    return changeEvent(r, EVENT_TYPES.dbRowUpdated, id, data, subject);
  }
  const old = previousRow(rel.cols, change.values, [], change.kind === 'K');
  const data: DbRowDeletedData = {
    type: 'DELETE',
    ...base,
    record: null,
    old_record: old,
    unchanged_toast: [],
  };
  return changeEvent(r, EVENT_TYPES.dbRowDeleted, id, data, previousSubject(cols, change.values));
}

// --- Column types and values: every path of json-text.ts ---------------------------------------------------

const TIMESTAMPTZ = [
  '2024-01-02 03:04:05+00',
  '2024-01-02 03:04:05.1+00',
  '2024-01-02 03:04:05.123456+00',
  '0001-01-01 00:00:00+00 BC',
  '12024-01-02 03:04:05+00',
  '2024-01-02 03:04:05+05:30',
  '2024-01-02 03:04:05-08',
  'infinity',
  '-infinity',
];
const TIMESTAMP = ['2024-01-02 03:04:05', '2024-01-02 03:04:05.000001', '0044-03-15 12:00:00 BC', 'infinity'];
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
  'é then "quote" \\ and \u0001 after ü',
  // Long runs without escapes (copied at once) around escapes and non-ASCII.
  `${'x'.repeat(100)}"${'y'.repeat(70)}é${'z'.repeat(80)}\n`,
  '',
  ' ',
];
/** Not UTF-8: node-postgres decoded such text with replacement characters, and so must the bytes path. */
const NOT_UTF8 = Buffer.from([0x61, 0xff, 0xc3, 0x28, 0x62]);

const WIDE: [string, number, (i: number) => Value][] = [
  ['id', 20, (i) => String(i)],
  ['name', 25, (i) => (i % 7 === 0 ? null : i % 17 === 0 ? NOT_UTF8 : `${TEXTS[i % TEXTS.length]} ${i}`)],
  ['amount', 1700, (i) => (i % 9 === 0 ? 'NaN' : (i / 100).toFixed(2))],
  ['at', 1184, (i) => TIMESTAMPTZ[i % TIMESTAMPTZ.length] as string],
  ['local', 1114, (i) => TIMESTAMP[i % TIMESTAMP.length] as string],
  ['on', 1082, (i) => (i % 5 === 0 ? '0044-03-15 BC' : i % 6 === 0 ? 'infinity' : '2024-02-29')],
  [
    'attrs',
    3802,
    (i) =>
      i % 3 === 0
        ? null
        : i % 19 === 0
          ? Buffer.concat([Buffer.from('"'), NOT_UTF8, Buffer.from('"')])
          : (JSONB[i % JSONB.length] as string),
  ],
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
  // A TOASTed column: sent whole, or left unchanged (`u`) by an update.
  ['big', 25, (i) => (i % 4 === 1 ? undefined : `${'é"\\'.repeat(i % 5)}${'x'.repeat(3000)}`)],
  ['bin', 17, (i) => (i % 2 ? { binary: Buffer.from([i & 255, 0, 0x22]) } : null)],
  // Named like array indexes: an object orders them first, numerically.
  ['2', 25, (i) => (i % 4 === 0 ? null : 'two')],
  ['10', 23, () => '10'],
  ['0', 16, () => 't'],
  ['we"ird\\ name\u2028', 25, () => 'x'],
];
const wideCols = (keys: number[]): Col[] =>
  WIDE.map(([name, typeOid], i) => ({ name, typeOid, isKey: keys.includes(i) }));
const wideRow = (i: number): Value[] => WIDE.map(([, , f]) => f(i));
/** An insert never carries `u`. */
const inserted = (i: number): Value[] => wideRow(i).map((v, c) => (v === undefined ? `big ${i} ${c}` : v));

/** The `data` bytes the Kafka sink writes for an event. */
const sent = (e: CloudEvent<unknown>): string | undefined => toKafkaMessage(e).value?.toString();

/** Feeds `stream` to a decoder; the events with the construction before beside them. */
function run(stream: { msg: Buffer; expected?: (tx: Tx) => DecodedEvent }[]) {
  const decoder = new ChangeDecoder({ database: 'app' });
  const pairs: [DecodedEvent, DecodedEvent][] = [];
  let tx: Tx | undefined;
  for (const { msg, expected } of stream) {
    const m = decodePgOutput(msg);
    if (m.tag === 'begin')
      tx = { lsn: formatLsn(m.finalLsn), time: pgTimestampToIso(m.commitTime), xid: m.xid, index: 0 };
    if (m.tag === 'relation' && (m.replicaIdentity === 'f' || m.replicaIdentity === 'n')) {
      decoder.decode(m);
      decoder.setPrimaryKey(m.relationId, [m.columns[0]?.name as string]);
    } else {
      const got = decoder.decode(m);
      if (expected) {
        expect(got).toHaveLength(1);
        pairs.push([got[0] as DecodedEvent, expected(tx as Tx)]);
      } else expect(got).toEqual([]);
    }
  }
  return pairs;
}

function expectSame(now: DecodedEvent, before: DecodedEvent): void {
  const data = before.event.data as DbChangeData;
  // The bytes the sink writes are exactly JSON.stringify of the data built from column texts.
  expect(sent(now.event)).toBe(JSON.stringify(data));
  expect(JSON.stringify(now.event)).toBe(JSON.stringify(before.event));
  expect(Object.keys(now.event)).toEqual(Object.keys(before.event));
  for (const k of ['record', 'old_record'] as const)
    expect(Object.keys((now.event.data as DbChangeData)[k] ?? {})).toEqual(Object.keys(data[k] ?? {}));
  // The same values, but for jsonb's -0, which is 0 once parsed from bytes (JSON has no -0).
  expect(now.event).toEqual({
    ...before.event,
    data: JSON.parse(JSON.stringify(data)),
    [RAW_DATA]: (now.event as unknown as Record<symbol, unknown>)[RAW_DATA],
  });
  expect(now.event.data).toBe(now.event.data);
  expect(Object.getPrototypeOf(now.event)).toBe(CloudEvent.prototype);
  expect(Object.isFrozen(now.event)).toBe(true);
  expect([now.table, now.op]).toEqual([before.table, before.op]);
  // The SDK's copy-with-changes gives an event with the same data (without the original's bytes).
  const clone = now.event.cloneWith({ subject: 'x' }, false);
  expect(clone.data).toEqual(now.event.data);
  expect(sent(clone)).toBe(JSON.stringify(now.event.data));
}

describe('row changes written as JSON bytes', () => {
  const time = 820_000_000_123_456n;
  const rels: Rel[] = [
    // Default identity, a composite key (the first two columns).
    { id: 16401, schema: 'app', table: 'wide', identity: 'd', cols: wideCols([0, 11]) },
    // FULL: old rows whole; the subject is the primary key, looked up from the catalog.
    { id: 16402, schema: 'app', table: 'full', identity: 'f', cols: wideCols([...WIDE.keys()]) },
    // NOTHING: no old record at all.
    { id: 16403, schema: 'we"ird', table: 'no\\key', identity: 'n', cols: wideCols([]) },
    // An index identity on a text column (NOT NULL, as Postgres requires).
    { id: 16404, schema: 'app', table: 'by_name', identity: 'i', cols: wideCols([WIDE.length - 1]) },
  ];

  it('give the same events, property order and JSON bytes as the record objects built before', () => {
    const stream: { msg: Buffer; expected?: (tx: Tx) => DecodedEvent }[] = [];
    let lsn = 0x1a2b3c8n;
    let xid = 700;
    for (const rel of rels)
      stream.push({ msg: relation(rel.id, rel.schema, rel.table, rel.identity, rel.cols) });
    for (let i = 0; i < 240; i++) {
      const rel = rels[i % rels.length] as Rel;
      // Transactions of 1 to 5 changes.
      const size = 1 + (i % 5);
      stream.push({ msg: begin(lsn, time + BigInt(i) * 1001n, xid++) });
      for (let k = 0; k < size; k++) {
        const n = i * 5 + k;
        // Postgres refuses deletes from a table without a replica identity.
        const change: Change =
          k % 3 === 0 || (k % 3 === 2 && rel.identity === 'n')
            ? { op: 'INSERT', values: inserted(n) }
            : k % 3 === 1
              ? {
                  op: 'UPDATE',
                  values: wideRow(n),
                  ...(rel.identity === 'f'
                    ? { old: { kind: 'O' as const, values: inserted(n + 1) } }
                    : n % 2 && rel.identity !== 'n'
                      ? {
                          // The key changed: the old key, other columns null.
                          old: {
                            kind: 'K' as const,
                            values: inserted(n + 1).map((v, c) => (rel.cols[c]?.isKey ? v : null)),
                          },
                        }
                      : {}),
                }
              : {
                  op: 'DELETE',
                  kind: rel.identity === 'f' ? 'O' : 'K',
                  values: inserted(n).map((v, c) => (rel.identity === 'f' || rel.cols[c]?.isKey ? v : null)),
                };
        const msg =
          change.op === 'INSERT'
            ? insert(rel.id, change.values)
            : change.op === 'UPDATE'
              ? update(rel.id, change.values, change.old)
              : del(rel.id, change.kind, change.values);
        stream.push({ msg, expected: (tx) => previousEvent(rel, tx, change) });
      }
      stream.push({ msg: commit(lsn, time + BigInt(i) * 1001n) });
      lsn += 0x100n;
    }
    const pairs = run(stream);
    expect(pairs).toHaveLength(720);
    expect(new Set(pairs.map(([n]) => n.op))).toEqual(new Set(['INSERT', 'UPDATE', 'DELETE']));
    // Several MiB of JSON: the decoder went through more than one block.
    const blocks = new Set(
      pairs.map(([n]) => (n.event as unknown as Record<symbol, Buffer>)[RAW_DATA]?.buffer),
    );
    expect(blocks.size).toBeGreaterThan(2);
    // Checked after every event is built: the bytes of earlier events stay as written (blocks are not reused).
    for (const [now, before] of pairs) {
      expectSame(now, before);
      if (now.event.type.startsWith('dev.tributary.'))
        expect(catalog.validate(now.event, { attributes: true })).toEqual({ ok: true });
    }
  });

  it('write tuples with fewer or more columns than the relation as the objects did', () => {
    const cols: Col[] = [
      { name: 'id', typeOid: 23, isKey: true },
      { name: 'v', typeOid: 25, isKey: false },
      { name: 'w', typeOid: 3802, isKey: false },
    ];
    const rel: Rel = { id: 1, schema: 's', table: 't', identity: 'd', cols };
    const changes: Change[] = [
      { op: 'INSERT', values: ['1', 'a'] },
      { op: 'INSERT', values: ['2', 'b', '{}', 'extra'] },
      { op: 'UPDATE', values: ['3', undefined] },
      { op: 'UPDATE', values: [undefined, 'x', undefined], old: { kind: 'K', values: ['4', null, null] } },
      { op: 'DELETE', kind: 'K', values: ['5'] },
    ];
    const pairs = run([
      { msg: relation(1, 's', 't', 'd', cols) },
      { msg: begin(0x10n, 0n, 5) },
      ...changes.map((c) => ({
        msg:
          c.op === 'INSERT'
            ? insert(1, c.values)
            : c.op === 'UPDATE'
              ? update(1, c.values, c.old)
              : del(1, c.kind, c.values),
        expected: (tx: Tx) => previousEvent(rel, tx, c),
      })),
      { msg: commit(0x10n, 0n) },
    ]);
    for (const [now, before] of pairs) expectSame(now, before);
    expect(pairs[3]?.[0].event.subject).toBe('4');
  });

  it('gives a table with a column named __proto__ the object path, with the same result as before', () => {
    const cols: Col[] = [
      { name: 'id', typeOid: 23, isKey: true },
      { name: '__proto__', typeOid: 25, isKey: false },
    ];
    const rel: Rel = { id: 2, schema: 's', table: 'odd', identity: 'd', cols };
    const change: Change = { op: 'INSERT', values: ['1', 'x'] };
    const [[now, before] = []] = run([
      { msg: relation(2, 's', 'odd', 'd', cols) },
      { msg: begin(0x20n, 0n, 6) },
      { msg: insert(2, change.values), expected: (tx) => previousEvent(rel, tx, change) },
      { msg: commit(0x20n, 0n) },
    ]);
    expect(now?.event.data).toEqual(before?.event.data);
    expect(JSON.stringify(now?.event)).toBe(JSON.stringify(before?.event));
    expect(sent(now?.event as CloudEvent<unknown>)).toBe(JSON.stringify(before?.event.data));
  });

  it('a change whose value fails to convert leaves nothing in the next change', () => {
    const cols: Col[] = [
      { name: 'id', typeOid: 23, isKey: true },
      { name: 'doc', typeOid: 114, isKey: false },
    ];
    const rel: Rel = { id: 3, schema: 's', table: 'j', identity: 'd', cols };
    const decoder = new ChangeDecoder({ database: 'app' });
    decoder.decode(decodePgOutput(relation(3, 's', 'j', 'd', cols)));
    decoder.decode(decodePgOutput(begin(0x30n, 0n, 7)));
    expect(() => decoder.decode(decodePgOutput(insert(3, ['1', '{"a": [1, "x'])))).toThrow();
    const [now] = decoder.decode(decodePgOutput(insert(3, ['2', '{"ok": true}'])));
    const before = previousEvent(
      rel,
      { lsn: formatLsn(0x30n), time: pgTimestampToIso(0n), xid: 7, index: 0 },
      {
        op: 'INSERT',
        values: ['2', '{"ok": true}'],
      },
    );
    expect(sent(now?.event as CloudEvent<unknown>)).toBe(JSON.stringify(before.event.data));
  });
});
