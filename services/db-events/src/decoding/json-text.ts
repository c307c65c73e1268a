/**
 * Column values from their Postgres text form (as bytes) straight to the JSON bytes that
 * `JSON.stringify(convert(text))` gives, where `convert` is the column's converter in values.ts (DESIGN.md
 * §3.1), without a JS string or object per value on the common paths:
 * - int2, int4: the digits, copied (their text form is already a JSON number);
 * - int8, numeric: the digits, quoted;
 * - bool: `true` / `false`;
 * - text and every other type shown as its text form: a JSON string, escaped by a byte scan exactly as
 *   `JSON.stringify` escapes (`\"`, `\\`, `\b \f \n \r \t`, other controls as `\u00xx`), once the bytes are
 *   known to be UTF-8;
 * - timestamptz, timestamp, date in their common forms (DateStyle ISO, TimeZone UTC, a four-digit AD year):
 *   reformatted to ISO-8601 by position, as values.ts' `toIsoTimestamp` does;
 * - jsonb: copied without its whitespace; jsonb's output is canonical (keys sorted and unique, strings escaped as
 *   above), so the only differences from `JSON.stringify(JSON.parse(text))` are numbers JS would print another
 *   way and keys JS would reorder. A value with a number that is not already in JS' form (more than 15
 *   significant digits, trailing zeros `1.50`, `-0`, tiny or huge magnitudes) or an integer-like key (which a JS
 *   object moves first) takes the general path, i.e. the streaming path's behaviour: numbers are doubles.
 * Everything else (floats, json, arrays, bytea, BC dates, infinities, text that is not UTF-8...) takes the
 * general path: the column's converter, then `JSON.stringify`. json-text.test.ts checks every path against it.
 */
import { isUtf8 } from 'node:buffer';
import type { Converter } from './values.js';

/** Size of the blocks the JSON bytes are written to (a value larger than this gets a block of its own). */
export const JSON_BLOCK_BYTES = 1 << 20;

/**
 * JSON bytes written one value after another into large blocks; {@link JsonOut.take} hands out what was
 * written since the last take as a view of its block (no copy), so the views of one block share its memory.
 * Or, without a view per value: {@link JsonOut.start} and {@link JsonOut.pos} in {@link JsonOut.buf} delimit the
 * value, and {@link JsonOut.next} starts the next one.
 */
export class JsonOut {
  buf: Buffer;
  pos = 0;
  /** Where the value being written starts in {@link buf}. */
  start = 0;

  constructor(private readonly blockBytes = JSON_BLOCK_BYTES) {
    this.buf = Buffer.allocUnsafeSlow(blockBytes);
  }

  /** Room for `n` more bytes; a new block takes the bytes written since the last take with it. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const pending = this.pos - this.start;
    const next = Buffer.allocUnsafeSlow(Math.max(this.blockBytes, 2 * (pending + n)));
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.start = 0;
    this.pos = pending;
  }

  /** Appends bytes (a constant fragment). */
  bytes(b: Uint8Array): void {
    const n = b.length;
    this.ensure(n);
    if (n > 48) {
      this.buf.set(b, this.pos);
      this.pos += n;
      return;
    }
    // A loop beats TypedArray#set for the short fragments (column names) written per value.
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = b[i] as number;
    this.pos = p;
  }

  /** Appends a JS string as UTF-8. */
  text(s: string): void {
    this.ensure(3 * s.length);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** The value written is complete: the next one starts here. */
  next(): void {
    this.start = this.pos;
  }

  /** The bytes written since the last take. */
  take(): Buffer {
    const out = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    return out;
  }
}

/** Writes the JSON of one non-NULL value whose text form is `src[s, e)`. */
export type JsonTextWriter = (out: JsonOut, src: Buffer, s: number, e: number) => void;

/** How a type's values are written; anything not listed is `general`. */
type Kind =
  | 'number'
  | 'quoted'
  | 'bool'
  | 'string'
  | 'timestamptz'
  | 'timestamp'
  | 'date'
  | 'jsonb'
  | 'general';

const KINDS: ReadonlyMap<number, Kind> = new Map<number, Kind>([
  [16, 'bool'],
  [21, 'number'], // int2
  [23, 'number'], // int4
  [20, 'quoted'], // int8
  [1700, 'quoted'], // numeric
  [1184, 'timestamptz'],
  [1114, 'timestamp'],
  [1082, 'date'],
  [3802, 'jsonb'],
  // float4, float8, json, bytea and arrays need their converter: general.
  [700, 'general'],
  [701, 'general'],
  [114, 'general'],
  [17, 'general'],
]);

/**
 * The writer for a column of type `typeOid` whose converter (values.ts) is `convert`; `textForm` says whether
 * that converter returns the text form unchanged (then the value is written as a JSON string).
 */
export function jsonTextWriter(typeOid: number, convert: Converter, textForm: boolean): JsonTextWriter {
  const general: JsonTextWriter = (out, src, s, e) => writeGeneral(out, src, s, e, convert);
  const kind = KINDS.get(typeOid) ?? (textForm ? 'string' : 'general');
  switch (kind) {
    case 'number':
      return writeVerbatim;
    case 'quoted':
      return writeQuoted;
    case 'bool':
      return writeBool;
    case 'string':
      return (out, src, s, e) => {
        if (!writeString(out, src, s, e)) general(out, src, s, e);
      };
    case 'timestamptz':
      return (out, src, s, e) => {
        if (!writeTimestamp(out, src, s, e, true)) general(out, src, s, e);
      };
    case 'timestamp':
      return (out, src, s, e) => {
        if (!writeTimestamp(out, src, s, e, false)) general(out, src, s, e);
      };
    case 'date':
      return (out, src, s, e) => {
        if (!writeDate(out, src, s, e)) general(out, src, s, e);
      };
    case 'jsonb':
      return (out, src, s, e) => {
        if (!writeJsonb(out, src, s, e)) general(out, src, s, e);
      };
    default:
      return general;
  }
}

/** The general path: the converter on the text (decoded as node-postgres decodes it), then JSON.stringify. */
function writeGeneral(out: JsonOut, src: Buffer, s: number, e: number, convert: Converter): void {
  out.text(JSON.stringify(convert(src.toString('utf8', s, e))));
}

function copyBytes(buf: Buffer, p: number, src: Buffer, s: number, e: number): number {
  if (e - s > 64) return p + src.copy(buf, p, s, e);
  for (let i = s; i < e; i++) buf[p++] = src[i] as number;
  return p;
}

const writeVerbatim: JsonTextWriter = (out, src, s, e) => {
  out.ensure(e - s);
  out.pos = copyBytes(out.buf, out.pos, src, s, e);
};

const QUOTE = 34;
const BACKSLASH = 92;

const writeQuoted: JsonTextWriter = (out, src, s, e) => {
  out.ensure(e - s + 2);
  const buf = out.buf;
  let p = out.pos;
  buf[p++] = QUOTE;
  p = copyBytes(buf, p, src, s, e);
  buf[p++] = QUOTE;
  out.pos = p;
};

const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
/** values.ts: `t === 't'`. */
const writeBool: JsonTextWriter = (out, src, s, e) => {
  out.bytes(e - s === 1 && src[s] === 116 ? TRUE : FALSE);
};

const HEX = Buffer.from('0123456789abcdef');
/** The escape JSON.stringify writes for a byte below 0x20, `"` or `\` (0: none, written as \u00xx). */
const SHORT_ESCAPES = new Uint8Array(128);
SHORT_ESCAPES[8] = 98; // \b
SHORT_ESCAPES[9] = 116; // \t
SHORT_ESCAPES[10] = 110; // \n
SHORT_ESCAPES[12] = 102; // \f
SHORT_ESCAPES[13] = 114; // \r
SHORT_ESCAPES[QUOTE] = QUOTE;
SHORT_ESCAPES[BACKSLASH] = BACKSLASH;

/** 1 for the bytes a JSON string holds as they are, while the text is ASCII: 0x20-0x7f but `"` and `\`. */
const PLAIN_ASCII = new Uint8Array(256);
for (let b = 0x20; b < 0x80; b++) PLAIN_ASCII[b] = 1;
PLAIN_ASCII[QUOTE] = 0;
PLAIN_ASCII[BACKSLASH] = 0;
/** The same once a byte of 0x80 or more was seen (the text is then checked for UTF-8 as a whole). */
const PLAIN = PLAIN_ASCII.map((v, b) => (b >= 0x80 ? 1 : v));

/**
 * `src[s, e)` as a JSON string, escaped as JSON.stringify escapes. False (nothing written) when the bytes are
 * not UTF-8: node-postgres would have decoded them with replacement characters, which the general path does.
 * Runs of bytes that need no escape are found by a table scan and copied at once (natively when long).
 */
function writeString(out: JsonOut, src: Buffer, s: number, e: number): boolean {
  out.ensure(6 * (e - s) + 2);
  const buf = out.buf;
  let p = out.pos;
  let plain = PLAIN_ASCII;
  buf[p++] = QUOTE;
  let i = s;
  for (;;) {
    let j = i;
    // Four bytes a step while they need no escape (a quarter less time than one a step on long text).
    const e4 = e - 3;
    while (
      j < e4 &&
      ((plain[src[j] as number] as number) &
        (plain[src[j + 1] as number] as number) &
        (plain[src[j + 2] as number] as number) &
        (plain[src[j + 3] as number] as number)) ===
        1
    )
      j += 4;
    while (j < e && plain[src[j] as number] === 1) j++;
    if (j > i) p = copyBytes(buf, p, src, i, j);
    if (j === e) break;
    const b = src[j] as number;
    i = j + 1;
    if (b >= 0x80) {
      plain = PLAIN;
      buf[p++] = b;
      continue;
    }
    buf[p++] = BACKSLASH;
    const short = SHORT_ESCAPES[b] as number;
    if (short !== 0) buf[p++] = short;
    else {
      buf[p++] = 117; // u
      buf[p++] = 48;
      buf[p++] = 48;
      buf[p++] = HEX[b >> 4] as number;
      buf[p++] = HEX[b & 15] as number;
    }
  }
  if (plain === PLAIN && !isUtf8(src.subarray(s, e))) return false;
  buf[p++] = QUOTE;
  out.pos = p;
  return true;
}

const isDigit = (b: number | undefined): boolean => b !== undefined && b >= 48 && b <= 57;

/**
 * `YYYY-MM-DD HH:MM:SS[.f]` at `s` ending at `end` (values.ts `toIsoTimestamp` for a four-digit AD year, no
 * offset or `+00`).
 */
function isoTimestampShape(src: Buffer, s: number, end: number): boolean {
  const n = end - s;
  return (
    src[s + 4] === 45 &&
    src[s + 7] === 45 &&
    src[s + 10] === 32 &&
    src[s + 13] === 58 &&
    src[s + 16] === 58 &&
    (n === 19 || (n > 20 && src[s + 19] === 46)) &&
    isDigit(src[s]) &&
    isDigit(src[end - 1])
  );
}

/** `2024-01-02 03:04:05.1+00` -> `"2024-01-02T03:04:05.1Z"`; without zone, no `Z`. False: other forms. */
function writeTimestamp(out: JsonOut, src: Buffer, s: number, e: number, zoned: boolean): boolean {
  let end = e;
  if (zoned) {
    if (e - s < 22 || src[e - 3] !== 43 || src[e - 2] !== 48 || src[e - 1] !== 48) return false;
    end = e - 3;
  }
  if (!isoTimestampShape(src, s, end)) return false;
  out.ensure(end - s + 3);
  const buf = out.buf;
  let p = out.pos;
  buf[p++] = QUOTE;
  p = copyBytes(buf, p, src, s, s + 10);
  buf[p++] = 84; // T
  p = copyBytes(buf, p, src, s + 11, end);
  if (zoned) buf[p++] = 90; // Z
  buf[p++] = QUOTE;
  out.pos = p;
  return true;
}

/** `2024-01-02` is already ISO; BC dates and infinities are not. */
function writeDate(out: JsonOut, src: Buffer, s: number, e: number): boolean {
  if (e - s !== 10 || src[s + 4] !== 45 || src[s + 7] !== 45 || !isDigit(src[s]) || !isDigit(src[e - 1]))
    return false;
  writeQuoted(out, src, s, e);
  return true;
}

/**
 * True when JS prints the number `src[a, b)` (a JSON number) exactly so: an optional `-`, an integer part
 * without leading zeros, an optional fraction without trailing zeros, no exponent, at most 15 significant
 * digits (a double holds any 15 digits exactly, so the shortest form JS prints is those digits), not `-0`, and
 * a magnitude JS prints without an exponent (at least 1e-6, below 1e21).
 */
export function isJsNumberForm(src: Uint8Array, a: number, b: number): boolean {
  let i = a;
  const negative = src[i] === 45;
  if (negative) i++;
  const intStart = i;
  if (src[i] === 48) i++;
  else while (i < b && isDigit(src[i])) i++;
  const intLen = i - intStart;
  if (intLen === 0) return false;
  const zeroInt = src[intStart] === 48;
  let sig = zeroInt ? 0 : intLen;
  if (i < b) {
    if (src[i] !== 46) return false;
    i++;
    const fracStart = i;
    while (i < b && isDigit(src[i])) i++;
    if (i !== b || i === fracStart || src[b - 1] === 48) return false;
    if (zeroInt) {
      let z = fracStart;
      while (src[z] === 48) z++;
      if (z - fracStart > 5) return false;
      sig = b - z;
    } else sig += b - fracStart;
  } else if (zeroInt && negative) return false;
  return sig <= 15;
}

/** True when the key `src[a, b)` (between quotes) is all digits: a JS object would order it first. */
function integerLike(src: Uint8Array, a: number, b: number): boolean {
  if (a === b) return false;
  for (let i = a; i < b; i++) if (!isDigit(src[i])) return false;
  return true;
}

/** After `\` in a JSON string: whether the escape is one JSON.stringify writes itself. */
function canonicalEscape(src: Buffer, i: number, e: number): number {
  const c = src[i];
  if (c === QUOTE || c === BACKSLASH || c === 98 || c === 102 || c === 110 || c === 114 || c === 116)
    return 1;
  // \u00xx for a control character without a short form, lowercase hex.
  if (c !== 117 || i + 5 > e || src[i + 1] !== 48 || src[i + 2] !== 48) return 0;
  const h = src[i + 3];
  const l = src[i + 4] as number;
  const lo = isDigit(l) ? l - 48 : l >= 97 && l <= 102 ? l - 87 : -1;
  if ((h !== 48 && h !== 49) || lo < 0) return 0;
  const code = (h - 48) * 16 + lo;
  return SHORT_ESCAPES[code] === 0 ? 5 : 0;
}

/**
 * jsonb text without whitespace. False (nothing written) when JS would write it differently: a number not in
 * JS' form, an integer-like key, an escape JSON.stringify would not write, or bytes that are not UTF-8.
 */
function writeJsonb(out: JsonOut, src: Buffer, s: number, e: number): boolean {
  out.ensure(e - s);
  const buf = out.buf;
  let p = out.pos;
  let high = 0;
  let i = s;
  while (i < e) {
    const b = src[i] as number;
    if (b === QUOTE) {
      const keyStart = p + 1;
      buf[p++] = QUOTE;
      i++;
      for (;;) {
        if (i >= e) return false;
        const c = src[i++] as number;
        if (c < 0x20) return false;
        high |= c;
        buf[p++] = c;
        if (c === QUOTE) break;
        if (c === BACKSLASH) {
          const n = canonicalEscape(src, i, e);
          if (n === 0) return false;
          for (let k = 0; k < n; k++) buf[p++] = src[i++] as number;
        }
      }
      let j = i;
      while (j < e && src[j] === 32) j++;
      if (src[j] === 58 && integerLike(buf, keyStart, p - 1)) return false;
    } else if (b === 32 || b === 10 || b === 9 || b === 13) {
      i++;
    } else if (b === 45 || isDigit(b)) {
      let j = i + 1;
      while (j < e) {
        const c = src[j] as number;
        if (isDigit(c) || c === 46 || c === 101 || c === 69 || c === 43 || c === 45) j++;
        else break;
      }
      if (!isJsNumberForm(src, i, j)) return false;
      while (i < j) buf[p++] = src[i++] as number;
    } else {
      buf[p++] = b;
      i++;
    }
  }
  if (high >= 0x80 && !isUtf8(src.subarray(s, e))) return false;
  out.pos = p;
  return true;
}
