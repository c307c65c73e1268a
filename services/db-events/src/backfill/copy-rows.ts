/**
 * The rows of one chunk, as the `COPY (SELECT ...) TO STDOUT` text Postgres sends (PostgreSQL docs, COPY, "Text
 * Format"): one row per line, columns separated by tabs, `\N` for NULL, and backslash escapes for backslash,
 * newline, carriage return, tab, backspace, form feed and vertical tab (COPY TO writes no others).
 *
 * A chunk is read this way instead of with a SELECT because node-postgres makes a JS string of every field
 * of a DataRow, and a chunk's rows live until the stream reaches its HIGH watermark, long enough to leave the
 * young generation: that garbage was most of a backfill's cost (docs/BENCHMARKS.md "Table backfill"). Here the
 * rows are one growing buffer plus the offsets of their fields in typed arrays, and a field becomes a JS
 * string only where one is needed (keys); json-text.ts writes the rest to JSON from the bytes.
 */

import { TributaryError } from '@tributary/shared';
import type { JsonOut, JsonTextWriter } from '../decoding/json-text.js';

const EMPTY = Buffer.alloc(0);
const NO_FIELDS = new Int32Array(0);
const TAB = 9;
const NEWLINE = 10;
const BACKSLASH = 92;

/** COPY text escapes: the byte after `\` -> the byte it stands for (any other byte stands for itself). */
const UNESCAPE = new Uint8Array(256).map((_, i) => i);
UNESCAPE[98] = 8; // \b
UNESCAPE[102] = 12; // \f
UNESCAPE[110] = 10; // \n
UNESCAPE[114] = 13; // \r
UNESCAPE[116] = 9; // \t
UNESCAPE[118] = 11; // \v

/** Where an escaped field is unescaped to, just before it is read (reused: read synchronously). */
let scratch = Buffer.allocUnsafeSlow(4096);

/** `src[s, e)` without its COPY escapes, in {@link scratch}; returns the length. */
function unescapeCopy(src: Buffer, s: number, e: number): number {
  if (scratch.length < e - s) scratch = Buffer.allocUnsafeSlow(2 * (e - s));
  const out = scratch;
  let n = 0;
  for (let i = s; i < e; i++) {
    const b = src[i] as number;
    out[n++] = b === BACKSLASH && i + 1 < e ? (UNESCAPE[src[++i] as number] as number) : b;
  }
  return n;
}

function copyFormatError(detail: string): TributaryError {
  return new TributaryError(`backfill: unexpected COPY text from Postgres (${detail})`, {
    code: 'REPLICATION_DECODE',
  });
}

interface Storage {
  data: Buffer;
  starts: Int32Array;
  ends: Int32Array;
  escaped: Uint8Array;
}

/**
 * Storage of chunks already emitted, for the next ones: a chunk's buffers are large, and allocating them anew
 * for every chunk costs garbage collections (V8 counts them as external memory). Two chunks are in flight at a
 * time (one read ahead), so a few suffice.
 */
const spare: Storage[] = [];
const SPARE_MAX = 4;

/** The rows of one chunk in COPY text form; fed the CopyData of the chunk's COPY, in order. */
export class CopyRows {
  /** Rows complete so far. */
  length = 0;
  private data: Buffer;
  private size = 0;
  private scanned = 0;
  private fieldStart = 0;
  private field = 0;
  private escapedField = 0;
  /** Per field (row * columns + column): start and end offset in {@link data}; end -1 for NULL. */
  private starts: Int32Array;
  private ends: Int32Array;
  /** Per field: 1 when it holds a backslash escape. */
  private escaped: Uint8Array;

  constructor(
    /** Columns per row. */
    readonly columns: number,
    /** Positions of the key columns, in key order. */
    readonly keyIndexes: readonly number[],
    expectedRows = 1024,
  ) {
    const fields = Math.max(1, expectedRows) * columns;
    const reused = spare.pop();
    if (reused && reused.starts.length >= fields) {
      ({ data: this.data, starts: this.starts, ends: this.ends, escaped: this.escaped } = reused);
    } else {
      this.data = Buffer.allocUnsafeSlow(Math.max(4096, expectedRows * 64));
      this.starts = new Int32Array(fields);
      this.ends = new Int32Array(fields);
      this.escaped = new Uint8Array(fields);
    }
  }

  /** Bytes of COPY text held. */
  get byteLength(): number {
    return this.size;
  }

  /**
   * The rows are no longer needed (their events are built): their storage goes to the next chunk. Only
   * `length` may be read afterwards.
   */
  release(): void {
    if (spare.length < SPARE_MAX && this.data.length > 0) {
      spare.push({ data: this.data, starts: this.starts, ends: this.ends, escaped: this.escaped });
    }
    this.data = EMPTY;
    this.starts = NO_FIELDS;
    this.ends = NO_FIELDS;
    this.escaped = new Uint8Array(0);
    this.size = 0;
  }

  /** Appends one CopyData payload (a view that the caller may reuse afterwards: it is copied). */
  push(chunk: Uint8Array): void {
    if (this.size + chunk.length > this.data.length) {
      const next = Buffer.allocUnsafeSlow(Math.max(2 * this.data.length, this.size + chunk.length));
      this.data.copy(next, 0, 0, this.size);
      this.data = next;
    }
    this.data.set(chunk, this.size);
    this.size += chunk.length;
    this.scan();
  }

  /** The COPY finished: every byte must belong to a complete row. */
  finish(): void {
    if (this.fieldStart !== this.size || this.field !== 0) throw copyFormatError('a row without its end');
  }

  private scan(): void {
    const data = this.data;
    const cols = this.columns;
    const size = this.size;
    let i = this.scanned;
    let escapedField = this.escapedField;
    while (i < size) {
      const b = data[i] as number;
      if (b === BACKSLASH) {
        if (i + 1 >= size) break; // the escaped byte is in the next CopyData
        escapedField = 1;
        i += 2;
        continue;
      }
      if (b !== TAB && b !== NEWLINE) {
        i++;
        continue;
      }
      if (this.field >= cols) throw copyFormatError(`more than ${cols} columns in a row`);
      const f = this.length * cols + this.field;
      if (f >= this.starts.length) this.grow();
      const s = this.fieldStart;
      this.starts[f] = s;
      this.ends[f] = i - s === 2 && data[s] === BACKSLASH && data[s + 1] === 78 ? -1 : i;
      this.escaped[f] = escapedField;
      escapedField = 0;
      this.fieldStart = ++i;
      if (b === TAB) this.field++;
      else {
        if (this.field !== cols - 1) throw copyFormatError(`${this.field + 1} columns in a row, not ${cols}`);
        this.field = 0;
        this.length++;
      }
    }
    this.scanned = i;
    this.escapedField = escapedField;
  }

  private grow(): void {
    const n = 2 * this.starts.length;
    const starts = new Int32Array(n);
    starts.set(this.starts);
    this.starts = starts;
    const ends = new Int32Array(n);
    ends.set(this.ends);
    this.ends = ends;
    const escaped = new Uint8Array(n);
    escaped.set(this.escaped);
    this.escaped = escaped;
  }

  /** True when column `c` of row `r` is NULL. */
  isNull(r: number, c: number): boolean {
    return (this.ends[r * this.columns + c] as number) < 0;
  }

  /** Column `c` of row `r` as text (as node-postgres would have decoded it), null for NULL. */
  text(r: number, c: number): string | null {
    const f = r * this.columns + c;
    const s = this.starts[f] as number;
    const e = this.ends[f] as number;
    if (e < 0) return null;
    if (this.escaped[f] === 0) return this.data.toString('utf8', s, e);
    return scratch.toString('utf8', 0, unescapeCopy(this.data, s, e));
  }

  /** Writes column `c` of row `r` (not NULL) with `writer`. */
  write(r: number, c: number, writer: JsonTextWriter, out: JsonOut): void {
    const f = r * this.columns + c;
    const s = this.starts[f] as number;
    const e = this.ends[f] as number;
    if (this.escaped[f] === 0) writer(out, this.data, s, e);
    else writer(out, scratch, 0, unescapeCopy(this.data, s, e));
  }

  /**
   * Writes the columns `index` of row `r`, each after its `name` (`nameNull` when NULL), with `write`: one
   * record's members.
   */
  writeMembers(
    r: number,
    index: readonly number[],
    name: readonly Buffer[],
    nameNull: readonly Buffer[],
    write: readonly JsonTextWriter[],
    out: JsonOut,
  ): void {
    const base = r * this.columns;
    const { starts, ends, escaped, data } = this;
    for (let j = 0; j < index.length; j++) {
      const f = base + (index[j] as number);
      const e = ends[f] as number;
      if (e < 0) {
        out.bytes(nameNull[j] as Buffer);
        continue;
      }
      out.bytes(name[j] as Buffer);
      const s = starts[f] as number;
      if (escaped[f] === 0) (write[j] as JsonTextWriter)(out, data, s, e);
      else (write[j] as JsonTextWriter)(out, scratch, 0, unescapeCopy(data, s, e));
    }
  }

  /** The texts of row `r`'s key columns, in key order (a primary key has no NULLs). */
  keyTexts(r: number): string[] {
    return this.keyIndexes.map((c) => this.text(r, c) ?? '');
  }

  /** The key texts of row `r` joined by NUL, as window.ts `keyString` joins those of the stream. */
  key(r: number): string | undefined {
    const keys = this.keyIndexes;
    let k = '';
    for (let j = 0; j < keys.length; j++) {
      const v = this.text(r, keys[j] as number);
      if (v === null) return undefined;
      k += j === 0 ? v : `\u0000${v}`;
    }
    return k;
  }

  /** Every column of row `r` as text (null for NULL). */
  texts(r: number): (string | null)[] {
    const out: (string | null)[] = new Array(this.columns);
    for (let c = 0; c < this.columns; c++) out[c] = this.text(r, c);
    return out;
  }
}

/** No rows (a chunk not read yet). */
export const NO_ROWS: CopyRows = new CopyRows(1, [], 0);
