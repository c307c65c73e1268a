// Seeded generators of CESQL expressions, Trigger filter specs and the events they run on. The same seed
// always yields the same cases, so a difference found in CI reproduces locally.
import type { FilterSpec } from '../../src/resources/schema.js';

/** mulberry32: a small, fast, seedable PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const chance = (r: Rand, p: number) => r() < p;

/** Events in the JSON format. Extension values are strings, as the Kafka and HTTP bindings carry them. */
export const EVENTS: readonly Record<string, string>[] = [
  {
    specversion: '1.0',
    id: 'e-1',
    source: '/db/app/public/orders',
    type: 'dev.tributary.db.row.inserted',
    subject: '42',
    time: '2024-05-01T10:34:56.123456789Z',
    datacontenttype: 'application/json',
    table: 'orders',
    count: '42',
    flag: 'true',
    neg: '-7',
    uni: 'héllo wörld',
    pct: '100%',
  },
  { specversion: '1.0', id: 'e-2', source: '/auth', type: 'dev.tributary.auth.user.created' },
  {
    specversion: '1.0',
    id: 'e-3',
    source: '/storage/photos',
    type: 'dev.tributary.storage.object.created',
    subject: 'a_b%c/ö.png',
    time: '2024-05-01T12:34:56.5+02:00',
    datacontenttype: 'application/json; charset=utf-8',
    dataschema: 'https://example.com/schemas/object.json',
    big: '2147483648',
    tru: 'TRUE',
    table: 'users',
    count: '0',
  },
  {
    specversion: '1.0',
    id: 'e-4',
    source: '/db/app/public/users',
    type: 'dev.tributary.db.row.updated',
    subject: 'x',
    time: '2024-05-01T10:00:00Z',
    datacontenttype: 'text/plain',
    flag: 'False',
    count: '2147483647',
    neg: '-2147483648',
    empty: 'e',
  },
];

const ATTRIBUTES = [
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'dataschema',
  'specversion',
  'table',
  'count',
  'flag',
  'neg',
  'uni',
  'pct',
  'big',
  'tru',
  'empty',
  'missing',
] as const;

// --- CESQL --------------------------------------------------------------------------------------------

const INTS = ['0', '1', '-1', '2', '3', '10', '42', '-7', '2147483647', '-2147483648', '100', '7'];
const STRINGS = [
  '',
  'abc',
  'ABC',
  'true',
  'FALSE',
  '42',
  ' 7 ',
  'héllo',
  "it''s",
  '%',
  '_',
  '-7',
  'orders',
  'x',
];
const LIKE_PATTERNS = [
  '%',
  '_',
  'dev.%',
  '%ed',
  '%.%',
  '4_',
  '%ö%',
  '',
  'a\\_b%',
  '100\\%',
  '%\\%',
  'orders',
  '_%_',
];
const FUNCTIONS: readonly [string, number][] = [
  ['LENGTH', 1],
  ['CONCAT', 2],
  ['CONCAT', 0],
  ['CONCAT_WS', 3],
  ['LOWER', 1],
  ['UPPER', 1],
  ['TRIM', 1],
  ['LEFT', 2],
  ['RIGHT', 2],
  ['SUBSTRING', 2],
  ['SUBSTRING', 3],
  ['ABS', 1],
  ['INT', 1],
  ['BOOL', 1],
  ['STRING', 1],
  ['IS_INT', 1],
  ['IS_BOOL', 1],
  ['LENGTH', 2],
  ['NOPE', 1],
];
const BINARY = ['AND', 'OR', 'XOR', '=', '!=', '<>', '<', '<=', '>', '>=', '+', '-', '*', '/', '%'];

function literal(r: Rand): string {
  const k = r();
  if (k < 0.4) return pick(r, INTS);
  if (k < 0.85) {
    const s = pick(r, STRINGS);
    return chance(r, 0.8) ? `'${s}'` : `"${s.replace(/''/g, "'")}"`;
  }
  return pick(r, ['TRUE', 'FALSE', 'true', 'false']);
}

/** A random CESQL expression of at most `depth` levels of operators. */
export function cesqlExpression(r: Rand, depth: number): string {
  if (depth <= 0 || chance(r, 0.25)) return chance(r, 0.5) ? literal(r) : pick(r, ATTRIBUTES);
  const k = r();
  const sub = () => cesqlExpression(r, depth - 1);
  if (k < 0.35) return `${sub()} ${pick(r, BINARY)} ${sub()}`;
  if (k < 0.45) return `NOT ${sub()}`;
  if (k < 0.5) return `-${sub()}`;
  if (k < 0.6) return `${sub()}${chance(r, 0.2) ? ' NOT' : ''} LIKE '${pick(r, LIKE_PATTERNS)}'`;
  if (k < 0.68) {
    const n = 1 + Math.floor(r() * 3);
    return `${sub()}${chance(r, 0.2) ? ' NOT' : ''} IN (${Array.from({ length: n }, () => literal(r)).join(', ')})`;
  }
  if (k < 0.73) return `EXISTS ${pick(r, ATTRIBUTES)}`;
  if (k < 0.9) {
    const [name, arity] = pick(r, FUNCTIONS);
    const fname = chance(r, 0.15) ? name.toLowerCase() : name;
    return `${fname}(${Array.from({ length: arity }, sub).join(', ')})`;
  }
  return `(${sub()})`;
}

/** A few expressions broken on purpose, to compare what both parsers refuse. */
export function mutate(r: Rand, expression: string): string {
  const i = Math.floor(r() * (expression.length + 1));
  const k = r();
  if (k < 0.4) return expression.slice(0, i) + expression.slice(i + 1);
  if (k < 0.8)
    return (
      expression.slice(0, i) +
      pick(r, [')', '(', "'", ',', ' AND ', ' LIKE ', '"', '1']) +
      expression.slice(i)
    );
  return `${expression} ${pick(r, ['AND', 'IN', 'NOT', '+', 'LIKE'])}`;
}

// --- Trigger filters ------------------------------------------------------------------------------------

const FILTER_ATTRIBUTES = [...ATTRIBUTES, 'datamediatype', 'schemaurl'];
const TIMES = [
  '2024-05-01T10:34:56.123456789Z',
  '2024-05-01T12:34:56.5+02:00',
  '2024-05-01T10:34:56.500Z',
  '2024-05-01T10:00:00Z',
  '2024-05-01T10:00:00.000Z',
];

function valueFor(r: Rand, name: string, kind: 'exact' | 'prefix' | 'suffix'): string {
  if (chance(r, 0.08)) return '';
  if (name === 'time' && chance(r, 0.6)) return pick(r, TIMES);
  const e = pick(r, EVENTS);
  const aliased = name === 'schemaurl' ? 'dataschema' : name === 'datamediatype' ? 'datacontenttype' : name;
  let v = e[aliased] ?? pick(r, ['x', 'orders', 'dev.tributary.', 'application/json']);
  if (name === 'datamediatype') v = v.split(';')[0]!.trim();
  if (kind === 'exact' || v.length === 0) return v;
  const n = 1 + Math.floor(r() * v.length);
  return kind === 'prefix' ? v.slice(0, n) : v.slice(v.length - n);
}

function attributeMap(r: Rand, kind: 'exact' | 'prefix' | 'suffix'): Record<string, string> {
  const out: Record<string, string> = {};
  const n = chance(r, 0.7) ? 1 : chance(r, 0.7) ? 2 : 3;
  for (let i = 0; i < n; i++) {
    const name = chance(r, 0.03) ? pick(r, ['Type', 'bad-name', '9x']) : pick(r, FILTER_ATTRIBUTES);
    out[name] = valueFor(r, name, kind);
  }
  return out;
}

/** A random SubscriptionsAPI filter object. */
export function filterSpec(r: Rand, depth: number): FilterSpec {
  const k = r();
  const leaf = depth <= 0 || chance(r, 0.3);
  let f: FilterSpec;
  if (leaf || k < 0.45) {
    const kind = pick(r, ['exact', 'prefix', 'suffix', 'cesql'] as const);
    f = kind === 'cesql' ? { cesql: booleanish(r) } : { [kind]: attributeMap(r, kind) };
  } else if (k < 0.65) {
    f = { all: Array.from({ length: Math.floor(r() * 4) }, () => filterSpec(r, depth - 1)) };
  } else if (k < 0.85) {
    f = { any: Array.from({ length: Math.floor(r() * 4) }, () => filterSpec(r, depth - 1)) };
  } else if (k < 0.97) {
    f = { not: chance(r, 0.1) ? {} : filterSpec(r, depth - 1) };
  } else {
    f = {};
  }
  if (chance(r, 0.03)) f = { ...f, exact: attributeMap(r, 'exact') };
  return f;
}

function booleanish(r: Rand): string {
  const a = pick(r, ATTRIBUTES);
  return pick(r, [
    () => `${a} = ${literal(r)}`,
    () => `${a} LIKE '${pick(r, LIKE_PATTERNS)}'`,
    () => `EXISTS ${a}`,
    () => `NOT (${cesqlExpression(r, 1)})`,
    () => cesqlExpression(r, 2),
    () => `IS_INT(${a})`,
  ])();
}

export interface TriggerCase {
  filter?: { attributes?: Record<string, string> };
  filters?: FilterSpec[];
}

/** A random Trigger filter part: `filter.attributes`, `filters`, both, or neither. */
export function triggerSpec(r: Rand): TriggerCase {
  const out: TriggerCase = {};
  const k = r();
  if (k < 0.3 || k > 0.9) out.filter = chance(r, 0.1) ? {} : { attributes: attributeMap(r, 'exact') };
  if (k >= 0.3)
    out.filters = Array.from({ length: chance(r, 0.1) ? 0 : 1 + Math.floor(r() * 3) }, () =>
      filterSpec(r, 3),
    );
  return out;
}
