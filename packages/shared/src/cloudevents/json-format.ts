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
  const data = event.data;
  if (data === undefined) return JSON.stringify(obj);
  if (data instanceof Uint8Array) {
    obj.data_base64 = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
    return JSON.stringify(obj);
  }
  const ct = event.datacontenttype as string | undefined;
  if (isJsonContentType(ct)) {
    // Splice the JSON text as received instead of serializing the parsed value again.
    const raw = recalledRawData(event);
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

/** Validates one parsed JSON-format object and builds the event. `null` attributes count as absent (§2.2). */
export function fromJsonObject(value: unknown): ParsedJsonEvent {
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
  return { event: buildEvent(attrs, data), issues };
}
