/**
 * Column values from their Postgres text form to JSON, as DESIGN.md §3.1 fixes: bool -> boolean; int2, int4,
 * float4, float8 -> number; int8, numeric -> string; json, jsonb -> parsed; arrays -> arrays; timestamps and
 * dates -> ISO-8601; bytea -> base64; anything else -> the text form.
 *
 * The replication connection is opened with DateStyle=ISO, TimeZone=UTC, bytea_output=hex and
 * extra_float_digits=3, so the text forms parsed here are the ISO ones whatever the server's defaults are.
 */

import { TributaryError } from '@tributary/shared';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };
export type Converter = (text: string) => JsonValue;

const identity: Converter = (t) => t;

/** True for the converter of types shown as their text form (a JSON string of the text). */
export function isTextForm(convert: Converter): boolean {
  return convert === identity;
}

const toBool: Converter = (t) => t === 't';

const toInt: Converter = (t) => Number(t);

/** float4/float8: NaN and ±Infinity have no JSON number, so they stay text. */
const toFloat: Converter = (t) => {
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
};

const toJson: Converter = (t) => JSON.parse(t) as JsonValue;

/** `\x0a0b` -> base64. The escape output format (bytea_output=escape) is decoded too, for completeness. */
export const toBase64: Converter = (t) => {
  if (t.startsWith('\\x')) return Buffer.from(t.slice(2), 'hex').toString('base64');
  return Buffer.from(unescapeBytea(t), 'latin1').toString('base64');
};

function unescapeBytea(t: string): string {
  return t.replace(/\\(\\|[0-7]{3})/g, (_, g: string) =>
    g === '\\' ? '\\' : String.fromCharCode(Number.parseInt(g, 8)),
  );
}

/** `2024-01-02 03:04:05.123456+00` -> `2024-01-02T03:04:05.123456Z`; BC years become ISO negative years. */
export const toIsoTimestamp: Converter = (t) => {
  const m =
    /^(\d{4,})-(\d{2}-\d{2})(?: (\d{2}:\d{2}:\d{2}(?:\.\d+)?)([+-]\d{2}(?::\d{2}){0,2})?)?( BC)?$/.exec(t);
  if (!m) return t; // infinity, -infinity
  const [, y, md, time, offset, bc] = m;
  let year = y as string;
  if (bc) {
    // 1 BC is ISO year 0000, 2 BC is -0001.
    const n = Number(year) - 1;
    year = `${n === 0 ? '' : '-'}${String(n).padStart(4, '0')}`;
  }
  let out = `${year}-${md}`;
  if (time) out += `T${time}`;
  if (offset) {
    const [hh, mm = '00', ss] = offset.slice(1).split(':');
    out +=
      hh === '00' && mm === '00' && ss === undefined ? 'Z' : `${offset[0]}${hh}:${mm}${ss ? `:${ss}` : ''}`;
  }
  return out;
};

/** A date: already ISO (`2024-01-02`) under DateStyle=ISO, apart from BC and infinities. */
const toIsoDate: Converter = toIsoTimestamp;

/** Scalar type OIDs (pg_type.oid, stable across versions) and their converters. */
const SCALARS: ReadonlyMap<number, Converter> = new Map<number, Converter>([
  [16, toBool], // bool
  [21, toInt], // int2
  [23, toInt], // int4
  [700, toFloat], // float4
  [701, toFloat], // float8
  [20, identity], // int8 (string: beyond 2^53)
  [1700, identity], // numeric (string: arbitrary precision)
  [114, toJson], // json
  [3802, toJson], // jsonb
  [1114, toIsoTimestamp], // timestamp
  [1184, toIsoTimestamp], // timestamptz
  [1082, toIsoDate], // date
  [17, toBase64], // bytea
]);

/** Built-in array type OID -> element type OID (only the element's converter matters). */
const ARRAYS: ReadonlyMap<number, number> = new Map([
  [1000, 16],
  [1005, 21],
  [1007, 23],
  [1016, 20],
  [1021, 700],
  [1022, 701],
  [1231, 1700],
  [199, 114],
  [3807, 3802],
  [1115, 1114],
  [1185, 1184],
  [1182, 1082],
  [1001, 17],
  [1009, 25], // text[]
  [1015, 1043], // varchar[]
  [1014, 1042], // bpchar[]
  [1002, 18], // char[]
  [1003, 19], // name[]
  [2951, 2950], // uuid[]
  [1028, 26], // oid[]
  [1183, 1083], // time[]
  [1270, 1266], // timetz[]
  [1187, 1186], // interval[]
  [1041, 869], // inet[]
  [651, 650], // cidr[]
  [1040, 829], // macaddr[]
  [791, 790], // money[]
  [1561, 1560], // bit[]
  [1563, 1562], // varbit[]
  [143, 142], // xml[]
  [3643, 3614], // tsvector[]
  [1263, 2275], // cstring[]
  [3904, 3904], // int4range[] -> text elements
  [1020, 603], // box[] (';'-delimited)
]);

/** Element delimiter is ',' for every type but box. */
const DELIMITERS: ReadonlyMap<number, string> = new Map([[1020, ';']]);

/**
 * Parses the text form of an array (`{1,2,NULL}`, `{{1,2},{3,4}}`, `{"a b","c\"d"}`, `[0:1]={1,2}`) into
 * nested arrays; each non-NULL element goes through `element`.
 */
export function parseArray(text: string, element: Converter, delimiter = ','): JsonValue[] {
  let i = 0;
  if (text[0] === '[') {
    // Explicit bounds, e.g. `[0:2]={...}`.
    i = text.indexOf('=') + 1;
  }
  const parseLevel = (): JsonValue[] => {
    if (text[i] !== '{')
      throw new TributaryError(`invalid array literal: ${text}`, { code: 'REPLICATION_DECODE' });
    i++;
    const out: JsonValue[] = [];
    if (text[i] === '}') {
      i++;
      return out;
    }
    while (i < text.length) {
      const c = text[i];
      if (c === '{') {
        out.push(parseLevel());
      } else if (c === '"') {
        i++;
        let s = '';
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\') i++;
          s += text[i];
          i++;
        }
        i++; // closing quote
        out.push(element(s));
      } else {
        let j = i;
        while (j < text.length && text[j] !== delimiter && text[j] !== '}') j++;
        const raw = text.slice(i, j).trim();
        out.push(raw === 'NULL' ? null : element(raw));
        i = j;
      }
      if (text[i] === delimiter) {
        i++;
      } else if (text[i] === '}') {
        i++;
        return out;
      }
    }
    throw new TributaryError(`unterminated array literal: ${text}`, { code: 'REPLICATION_DECODE' });
  };
  return parseLevel();
}

/**
 * Resolves converters by type OID. Types the decoder learns from `Type` messages (user-defined types, sent
 * before the first Relation that uses them) are arrays when their name starts with `_` (Postgres' convention),
 * with text elements.
 */
export class TypeRegistry {
  private readonly custom = new Map<number, { name: string }>();
  private readonly cache = new Map<number, Converter>();

  /** Records a type announced by a pgoutput `Type` message. */
  learn(typeOid: number, name: string): void {
    this.custom.set(typeOid, { name });
    this.cache.delete(typeOid);
  }

  converter(typeOid: number): Converter {
    let c = this.cache.get(typeOid);
    if (c) return c;
    c = this.build(typeOid);
    this.cache.set(typeOid, c);
    return c;
  }

  private build(typeOid: number): Converter {
    const scalar = SCALARS.get(typeOid);
    if (scalar) return scalar;
    const elem = ARRAYS.get(typeOid);
    if (elem !== undefined) {
      const el = SCALARS.get(elem) ?? identity;
      const delimiter = DELIMITERS.get(typeOid) ?? ',';
      return (t) => parseArray(t, el, delimiter);
    }
    const custom = this.custom.get(typeOid);
    if (custom?.name.startsWith('_')) return (t) => parseArray(t, identity);
    return identity;
  }
}
