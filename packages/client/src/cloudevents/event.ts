/**
 * Validation and construction of CloudEvents 1.0, with readable reasons.
 *
 * The SDK's `CloudEvent` constructor validates with ajv when `strict` is true (slow on a hot path, and its
 * messages are JSON dumps) and not at all when it is false, which is what its `HTTP.toEvent` does. Here every
 * event is checked against the spec's rules first, then built with `strict = false`.
 */
import { CloudEvent } from 'cloudevents';
import { isJsonContentType, isValidMediaType } from './content-type.js';
import { InvalidCloudEventError } from './errors.js';

/** Any CloudEvent-shaped object: an SDK `CloudEvent` instance or a plain object with its attributes. */
export interface CloudEventLike {
  specversion?: unknown;
  id?: unknown;
  source?: unknown;
  type?: unknown;
  data?: unknown;
  [attribute: string]: unknown;
}

export const SPEC_VERSION = '1.0';
export const REQUIRED_ATTRIBUTES = ['specversion', 'id', 'source', 'type'] as const;
/** Context attributes defined by the spec (the rest are extensions). */
export const CORE_ATTRIBUTES = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'datacontenttype',
  'dataschema',
  'subject',
  'time',
]);
const STRING_ATTRIBUTES = [
  'id',
  'source',
  'type',
  'subject',
  'datacontenttype',
  'dataschema',
  'time',
] as const;

/** Extension names, CloudEvents §naming conventions and DESIGN.md §3. */
export const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;
// RFC 3339 date-time (`T` or `t` separator, `Z` or numeric offset, any fraction precision).
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$/;
/**
 * String type: true when `s` holds a control character (U+0000-U+001F, U+007F-U+009F) or an unpaired
 * surrogate, which CloudEvents strings may not contain.
 */
export function hasForbiddenCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
    if (c >= 0xd800 && c <= 0xdfff) {
      if (c >= 0xdc00) return true;
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return true;
      i++;
    }
  }
  return false;
}
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const IGNORED_KEYS = new Set(['data', 'data_base64']);

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Uint8Array) return 'binary';
  return typeof value;
}

function quote(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

function isValidTimestamp(value: string): boolean {
  const m = RFC3339.exec(value);
  if (!m) return false;
  const month = Number(m[2]);
  const day = Number(m[3]);
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && Number(m[4]) < 24 && Number(m[5]) < 60;
}

/**
 * Every way `attrs` breaks CloudEvents 1.0 (context attributes only; `data`/`data_base64` are skipped).
 * Attributes whose value is `undefined` or `null` count as absent (JSON format §2.2).
 */
export function attributeIssues(attrs: Readonly<Record<string, unknown>>): string[] {
  const issues: string[] = [];
  for (const name of REQUIRED_ATTRIBUTES) {
    const v = attrs[name];
    if (v === undefined || v === null) issues.push(`missing required attribute ${name}`);
  }
  const sv = attrs.specversion;
  if (sv !== undefined && sv !== null && sv !== SPEC_VERSION) {
    issues.push(
      typeof sv === 'string' && sv !== ''
        ? `unsupported specversion ${quote(sv)}: only "1.0" is accepted`
        : 'attribute `specversion` must be the string "1.0"',
    );
  }
  for (const name of STRING_ATTRIBUTES) {
    const v = attrs[name];
    if (v === undefined || v === null) continue;
    if (name === 'time' && v instanceof Date) {
      if (Number.isNaN(v.getTime())) issues.push('attribute `time` is an invalid Date');
      continue;
    }
    if (typeof v !== 'string' || v === '') {
      issues.push(
        `attribute \`${name}\` must be a non-empty string${typeof v === 'string' ? '' : `, got ${describe(v)}`}`,
      );
      continue;
    }
    if (hasForbiddenCharacter(v)) {
      issues.push(`attribute \`${name}\` contains a control character or an unpaired surrogate`);
      continue;
    }
    if (name === 'time' && !isValidTimestamp(v)) {
      issues.push(
        `attribute \`time\` must be an RFC 3339 timestamp (e.g. 2024-01-31T12:00:00Z), got ${quote(v)}`,
      );
    } else if (name === 'datacontenttype' && !isValidMediaType(v)) {
      issues.push(
        `attribute \`datacontenttype\` must be a media type such as application/json, got ${quote(v)}`,
      );
    } else if (name === 'dataschema' && !ABSOLUTE_URI.test(v)) {
      issues.push(`attribute \`dataschema\` must be an absolute URI, got ${quote(v)}`);
    }
  }
  for (const name in attrs) {
    if (CORE_ATTRIBUTES.has(name) || IGNORED_KEYS.has(name)) continue;
    const v = attrs[name];
    if (v === undefined || v === null) continue;
    if (!EXTENSION_NAME.test(name)) {
      issues.push(`extension name \`${name}\` must match [a-z0-9]{1,20}`);
      continue;
    }
    if (name === 'schemaurl' || name === 'datacontentencoding') {
      issues.push(`attribute \`${name}\` belongs to CloudEvents 0.3 and is not allowed in 1.0`);
      continue;
    }
    if (typeof v === 'string') {
      if (hasForbiddenCharacter(v))
        issues.push(`extension \`${name}\` contains a control character or an unpaired surrogate`);
    } else if (typeof v === 'number') {
      if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) {
        issues.push(`extension \`${name}\` must be a 32-bit integer when it is a number, got ${v}`);
      }
    } else if (typeof v !== 'boolean' && !(v instanceof Uint8Array) && !(v instanceof Date)) {
      issues.push(`extension \`${name}\` must be a string, integer or boolean, got ${describe(v)}`);
    }
  }
  return issues;
}

/** Issues with an existing event (e.g. one built with `new CloudEvent(..., false)`); empty when valid. */
export function cloudEventIssues(event: CloudEventLike): string[] {
  const issues = attributeIssues(event);
  // JSON data is not read: it may be a getter that parses the event's raw bytes (db-events' change events).
  if (isJsonContentType(event.datacontenttype as string | undefined)) return issues;
  const data = event.data;
  if (data !== undefined) {
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
      issues.push(
        `data must be a string or bytes for non-JSON datacontenttype ${String(event.datacontenttype)}, got ${describe(data)}`,
      );
    }
  }
  return issues;
}

/** Throws `InvalidCloudEventError` listing every issue. */
export function assertValidCloudEvent(event: CloudEventLike): void {
  const issues = cloudEventIssues(event);
  if (issues.length > 0) throw new InvalidCloudEventError(issues);
}

/**
 * Raw bytes of `data` as received, per event, so re-encoding to a binary binding (Kafka, HTTP binary) writes them
 * back without a JSON.stringify. Events are frozen, so the bytes cannot go stale.
 */
const rawData = new WeakMap<object, Buffer>();

/**
 * Events built in bulk (db-events' read events) carry the raw bytes of `data` themselves instead, as an own
 * property under this key, set before the event is frozen: a WeakMap entry per event costs more than the rest
 * of such an event (docs/BENCHMARKS.md "Table backfill"). Only a frozen event's is believed, so a copy made
 * with `{ ...event, data }` (which copies the symbol too) is not sent with the original's bytes.
 */
export const RAW_DATA: unique symbol = Symbol.for('tributary.rawData');

export function rememberRawData(event: object, bytes: Buffer): void {
  rawData.set(event, bytes);
}

export function recalledRawData(event: object): Buffer | undefined {
  const own = (event as { [RAW_DATA]?: Buffer })[RAW_DATA];
  if (own !== undefined && Object.isFrozen(event)) return own;
  return rawData.get(event);
}

/** `data` of events built from their raw bytes, parsed when first read (see {@link RAW_DATA_GETTER}). */
const parsedData = new WeakMap<object, unknown>();
function lazyData(this: object): unknown {
  let d = parsedData.get(this);
  if (d === undefined) {
    d = JSON.parse((recalledRawData(this) as Buffer).toString('utf8'));
    parsedData.set(this, d);
  }
  return d;
}

/**
 * The property descriptor of a `data` that is the parse of the event's own RAW_DATA bytes, done on first read
 * and kept: `Object.defineProperty(event, 'data', RAW_DATA_GETTER)` in place of assigning `data`, then set
 * RAW_DATA and freeze the event. Enumerable, like an assigned `data`, so the event's own keys keep their order.
 */
export const RAW_DATA_GETTER: PropertyDescriptor = Object.freeze({
  get: lazyData,
  enumerable: true,
  configurable: false,
});

/**
 * Builds an SDK `CloudEvent` from already validated attributes. It is a real `CloudEvent` (same prototype,
 * same own properties, frozen) but skips the SDK constructor, which costs ~5 µs per event even with
 * `strict = false` (measured: ~1 µs this way). Unlike the SDK, an absent `time` stays absent: a broker must
 * not change the events it carries. For binary `data`, `data_base64` is computed on first read.
 */
export function buildEvent<T = unknown>(
  attrs: Record<string, unknown>,
  data: unknown,
  raw?: Buffer,
): CloudEvent<T> {
  const e = Object.create(CloudEvent.prototype) as Record<string, unknown>;
  e.id = attrs.id;
  // No `time` is invented: an event without one stays without one (Knative never adds it).
  e.time = attrs.time;
  e.type = attrs.type;
  e.source = attrs.source;
  e.specversion = attrs.specversion;
  e.datacontenttype = attrs.datacontenttype;
  e.subject = attrs.subject;
  e.datacontentencoding = undefined;
  e.dataschema = attrs.dataschema;
  if (data instanceof Uint8Array) {
    let b64: string | undefined;
    Object.defineProperty(e, 'data_base64', {
      enumerable: true,
      get: () => {
        b64 ??= Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
        return b64;
      },
    });
  } else {
    e.data_base64 = undefined;
  }
  e.schemaurl = undefined;
  e.data = data;
  for (const key in attrs) {
    if (!CORE_ATTRIBUTES.has(key)) e[key] = attrs[key];
  }
  Object.freeze(e);
  if (raw !== undefined) rawData.set(e, raw);
  return e as unknown as CloudEvent<T>;
}

export interface CreateCloudEventInput<T = unknown> {
  type: string;
  source: string;
  id?: string;
  specversion?: string;
  subject?: string;
  time?: string | Date;
  datacontenttype?: string;
  dataschema?: string;
  data?: T;
  [extension: string]: unknown;
}

/**
 * Builds a CloudEvent after checking it with readable reasons (`InvalidCloudEventError`), without the SDK's
 * slower ajv validation. `id` defaults to a random UUID, `time` to now, `specversion` to 1.0, and a JSON
 * `datacontenttype` is set when `data` is present and none was given.
 */
export function createCloudEvent<T = unknown>(input: CreateCloudEventInput<T>): CloudEvent<T> {
  const attrs: Record<string, unknown> = {};
  for (const key in input) {
    if (key === 'data' || key === 'data_base64') continue;
    const v = input[key];
    if (v !== undefined && v !== null) attrs[key] = v;
  }
  attrs.specversion ??= SPEC_VERSION;
  attrs.id ??= crypto.randomUUID();
  attrs.time =
    attrs.time instanceof Date ? attrs.time.toISOString() : (attrs.time ?? new Date().toISOString());
  if (
    input.data !== undefined &&
    attrs.datacontenttype === undefined &&
    !(input.data instanceof Uint8Array)
  ) {
    attrs.datacontenttype = 'application/json';
  }
  const issues = cloudEventIssues({ ...attrs, data: input.data });
  if (issues.length > 0) throw new InvalidCloudEventError(issues);
  return buildEvent<T>(attrs, input.data);
}

/** The event's context attributes (core + extensions), without `data`, skipping absent ones. */
export function eventAttributes(event: CloudEventLike): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in event) {
    if (IGNORED_KEYS.has(key)) continue;
    const v = event[key];
    if (v !== undefined && v !== null && typeof v !== 'function') out[key] = v;
  }
  return out;
}

/** Canonical string form of an attribute value (CloudEvents type system). */
export function attributeString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  return String(value);
}

export type DataEncoding = { bytes: Buffer; contentType: string | undefined };

/**
 * The bytes of `data` for a binary-mode binding and the content type to send with them. JSON content types
 * (or none) get `JSON.stringify(data)`; bytes pass through; strings are UTF-8. `undefined` when there is no data.
 */
export function encodeData(event: CloudEventLike): DataEncoding | undefined {
  const ct = event.datacontenttype as string | undefined;
  // Raw bytes first: `data` may be a getter that parses them (db-events' read events).
  const raw = recalledRawData(event);
  if (raw !== undefined) return { bytes: raw, contentType: ct ?? 'application/json' };
  const data = event.data;
  if (data === undefined) return undefined;
  if (data instanceof Uint8Array) {
    return { bytes: Buffer.from(data.buffer, data.byteOffset, data.byteLength), contentType: ct };
  }
  if (isJsonContentType(ct)) {
    return {
      bytes: Buffer.from(JSON.stringify(data) ?? 'null', 'utf8'),
      contentType: ct ?? 'application/json',
    };
  }
  return {
    bytes: Buffer.from(typeof data === 'string' ? data : JSON.stringify(data), 'utf8'),
    contentType: ct,
  };
}
