/** The CloudEvents JSON event format (json-format.md), used by structured and batch modes. */
import type { CloudEvent } from 'cloudevents';
import { isJsonContentType } from './content-type.js';
import { attributeIssues, buildEvent, type CloudEventLike, recalledRawData } from './event.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const SKIP = new Set(['data', 'data_base64']);

function serializeAttr(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  return value;
}

/**
 * The event as a JSON string in the JSON format. Unlike the SDK's `toJSON` it keeps `time` exactly as given and
 * follows §3.1.1 for data: bytes -> `data_base64`, JSON content types -> the JSON value, other types -> a string.
 */
export function toJsonFormat(event: CloudEventLike): string {
  const obj: Record<string, unknown> = {};
  for (const key in event) {
    if (SKIP.has(key)) continue;
    const v = event[key];
    if (v === undefined || v === null || typeof v === 'function') continue;
    obj[key] = serializeAttr(v);
  }
  const ct = event.datacontenttype as string | undefined;
  const json = isJsonContentType(ct);
  // Raw bytes first: `data` may be a getter that parses them (db-events' read events).
  const raw = json ? recalledRawData(event) : undefined;
  const data = raw === undefined ? event.data : undefined;
  if (raw === undefined && data === undefined) return JSON.stringify(obj);
  if (data instanceof Uint8Array) {
    obj.data_base64 = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
    return JSON.stringify(obj);
  }
  if (json) {
    // Splice the JSON text as received instead of serializing the parsed value again.
    const head = JSON.stringify(obj);
    const text = raw !== undefined ? raw.toString('utf8') : JSON.stringify(data);
    return head.length === 2 ? `{"data":${text}}` : `${head.slice(0, -1)},"data":${text}}`;
  }
  obj.data = typeof data === 'string' ? data : JSON.stringify(data);
  return JSON.stringify(obj);
}

export interface ParsedJsonEvent {
  event?: CloudEvent<unknown>;
  issues: string[];
}

/**
 * Validates one parsed JSON-format object and builds the event. `null` attributes count as absent (§2.2).
 * `rawData`, the exact JSON text of the `data` member (see `dataMemberText`), is kept with the event when
 * the data is JSON, so bindings write those bytes rather than a re-serialisation of the parsed value
 * (which would, e.g., round integers above 2^53).
 */
export function fromJsonObject(value: unknown, rawData?: string): ParsedJsonEvent {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      issues: [
        `a CloudEvent in JSON format must be a JSON object, got ${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value}`,
      ],
    };
  }
  const obj = value as Record<string, unknown>;
  const attrs: Record<string, unknown> = {};
  for (const key in obj) {
    if (SKIP.has(key)) continue;
    const v = obj[key];
    if (v !== null && v !== undefined) attrs[key] = v;
  }
  const issues = attributeIssues(attrs);
  const hasData = obj.data !== undefined;
  const b64 = obj.data_base64;
  let data: unknown;
  if (b64 !== undefined && b64 !== null) {
    if (hasData) issues.push('members `data` and `data_base64` are mutually exclusive');
    else if (typeof b64 !== 'string' || !BASE64.test(b64))
      issues.push('member `data_base64` must be a Base64 string');
    else data = Buffer.from(b64, 'base64');
  } else if (hasData) {
    data = obj.data;
    const ct = attrs.datacontenttype;
    if (typeof ct === 'string' && !isJsonContentType(ct) && typeof data !== 'string' && data !== null) {
      issues.push(`member \`data\` must be a string for the non-JSON datacontenttype ${JSON.stringify(ct)}`);
    }
  }
  if (issues.length > 0) return { issues };
  const keepRaw =
    rawData !== undefined && hasData && isJsonContentType(attrs.datacontenttype as string | undefined);
  return { event: buildEvent(attrs, data, keepRaw ? Buffer.from(rawData, 'utf8') : undefined), issues };
}

// --- locating members in JSON text that JSON.parse already accepted --------------------------------------

function skipWs(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
    i++;
  }
  return i;
}

function skipString(text: string, i: number): number {
  // text[i] is the opening quote.
  for (i++; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x22) return i + 1;
  }
  return i;
}

function skipValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return skipString(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (; i < text.length; i++) {
      const d = text[i];
      if (d === '"') i = skipString(text, i) - 1;
      else if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    return i;
  }
  while (i < text.length && !',]} \t\n\r'.includes(text[i]!)) i++;
  return i;
}

/**
 * The JSON text of the top-level member `data` of the object that starts at `start` (after whitespace),
 * or undefined when there is none; with duplicate members, the last one (as `JSON.parse` keeps). Also
 * returns where the object ends. `text` must be valid JSON (it was parsed first).
 */
function objectDataText(text: string, start: number): { data?: string; end: number } {
  let i = skipWs(text, start);
  if (text[i] !== '{') return { end: skipValue(text, i) };
  let data: string | undefined;
  i = skipWs(text, i + 1);
  while (i < text.length && text[i] !== '}') {
    const keyEnd = skipString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWs(text, skipWs(text, keyEnd) + 1); // past ':'
    const valueEnd = skipValue(text, i);
    if (key === 'data') data = text.slice(i, valueEnd);
    i = skipWs(text, valueEnd);
    if (text[i] === ',') i = skipWs(text, i + 1);
  }
  return data === undefined ? { end: i + 1 } : { data, end: i + 1 };
}

/** The exact text of the `data` member of a JSON-format event (structured mode), as received. */
export function dataMemberText(text: string): string | undefined {
  return objectDataText(text, 0).data;
}

/** The exact text of each event's `data` member in a JSON batch (an array of events), by index. */
export function batchDataTexts(text: string): (string | undefined)[] {
  const out: (string | undefined)[] = [];
  let i = skipWs(text, 0);
  if (text[i] !== '[') return out;
  i = skipWs(text, i + 1);
  while (i < text.length && text[i] !== ']') {
    const r = objectDataText(text, i);
    out.push(r.data);
    i = skipWs(text, r.end);
    if (text[i] === ',') i = skipWs(text, i + 1);
  }
  return out;
}
