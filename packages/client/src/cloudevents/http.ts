/**
 * HTTP protocol binding (http-protocol-binding.md): binary, structured and batch content modes.
 * Unlike the SDK's `HTTP.toEvent`, decoding validates every event and percent-decodes `ce-` headers.
 */
import type { CloudEvent } from 'cloudevents';
import {
  CE_BATCH_CONTENT_TYPE,
  CE_JSON_CONTENT_TYPE,
  formatMode,
  isJsonContentType,
  isTextContentType,
} from './content-type.js';
import { CloudEventDecodeError } from './errors.js';
import { attributeIssues, attributeString, buildEvent, type CloudEventLike, encodeData } from './event.js';
import { decodeHeaderValue, encodeHeaderValue, HeaderValueError } from './header-value.js';
import { batchDataTexts, dataMemberText, fromJsonObject, toJsonFormat } from './json-format.js';

/** Header input accepted by the decoders: Node/Fastify/undici header records, or a fetch `Headers`. */
export type HttpHeadersInput =
  | Readonly<Record<string, string | readonly string[] | number | undefined>>
  | { forEach(cb: (value: string, name: string) => void): void };

export interface HttpMessage {
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: Buffer;
}

const EMPTY = Buffer.alloc(0);

/** Binary mode §3.1: attributes as percent-encoded `ce-` headers, `datacontenttype` as `content-type`, data as body. */
export function encodeHttpBinary(event: CloudEventLike): HttpMessage {
  const headers: Record<string, string> = {};
  for (const key in event) {
    if (key === 'data' || key === 'data_base64' || key === 'datacontenttype') continue;
    const v = event[key];
    if (v === undefined || v === null || typeof v === 'function') continue;
    headers[`ce-${key}`] = encodeHeaderValue(attributeString(v));
  }
  const encoded = encodeData(event);
  const ct = encoded?.contentType ?? (event.datacontenttype as string | undefined);
  if (ct !== undefined) headers['content-type'] = ct;
  return { headers, body: encoded?.bytes ?? EMPTY };
}

/** Structured mode §3.2 with the JSON format. */
export function encodeHttpStructured(event: CloudEventLike): HttpMessage {
  return {
    headers: { 'content-type': CE_JSON_CONTENT_TYPE },
    body: Buffer.from(toJsonFormat(event), 'utf8'),
  };
}

/** Batched mode §3.3 with the JSON batch format. */
export function encodeHttpBatch(events: readonly CloudEventLike[]): HttpMessage {
  let text = '[';
  for (let i = 0; i < events.length; i++) {
    if (i > 0) text += ',';
    text += toJsonFormat(events[i]!);
  }
  text += ']';
  return { headers: { 'content-type': CE_BATCH_CONTENT_TYPE }, body: Buffer.from(text, 'utf8') };
}

/** Lower-cased headers; a repeated header (array) is kept as its list. */
function normalizeHeaders(input: HttpHeadersInput): Map<string, string | readonly string[]> {
  const out = new Map<string, string | readonly string[]>();
  if (typeof (input as { forEach?: unknown }).forEach === 'function' && !Array.isArray(input)) {
    (input as { forEach(cb: (value: string, name: string) => void): void }).forEach((value, name) => {
      out.set(name.toLowerCase(), value);
    });
    return out;
  }
  const rec = input as Readonly<Record<string, string | readonly string[] | number | undefined>>;
  for (const name in rec) {
    const v = rec[name];
    if (v === undefined) continue;
    out.set(name.toLowerCase(), typeof v === 'number' ? String(v) : v);
  }
  return out;
}

function single(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  return value[0];
}

function toBuffer(body: Buffer | Uint8Array | string | null | undefined): Buffer {
  if (body === undefined || body === null) return EMPTY;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (Buffer.isBuffer(body)) return body;
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function parseJson(bytes: Buffer): { ok: true; value: unknown; text: string } | { ok: false; error: string } {
  const text = bytes.toString('utf8');
  try {
    return { ok: true, value: JSON.parse(text), text };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/** Decodes `data` bytes for `datacontenttype`: JSON is parsed, UTF-8 text becomes a string, the rest stays bytes. */
export function decodeData(
  bytes: Buffer,
  contentType: string | undefined,
): { ok: true; data: unknown } | { ok: false; issue: string } {
  if (isJsonContentType(contentType)) {
    const parsed = parseJson(bytes);
    if (!parsed.ok) {
      return {
        ok: false,
        issue: `data is not valid JSON (content type ${contentType ?? 'application/json'}): ${parsed.error}`,
      };
    }
    return { ok: true, data: parsed.value };
  }
  if (isTextContentType(contentType)) return { ok: true, data: bytes.toString('utf8') };
  return { ok: true, data: bytes };
}

function decodeBinary(headers: Map<string, string | readonly string[]>, body: Buffer): CloudEvent<unknown> {
  const issues: string[] = [];
  const attrs: Record<string, unknown> = {};
  for (const [name, value] of headers) {
    if (name.length <= 3 || !name.startsWith('ce-')) continue;
    const attr = name.slice(3);
    if (typeof value !== 'string') {
      issues.push(`header ${name} appears more than once`);
      continue;
    }
    if (attr === 'datacontenttype') {
      issues.push(
        'header ce-datacontenttype is not allowed in binary mode; Content-Type carries datacontenttype',
      );
      continue;
    }
    if (attr === 'data' || attr === 'data_base64') {
      issues.push(`header ${name} is not allowed: \`${attr}\` is not a context attribute`);
      continue;
    }
    try {
      attrs[attr] = decodeHeaderValue(value);
    } catch (err) {
      issues.push(`header ${name}: ${err instanceof HeaderValueError ? err.message : String(err)}`);
    }
  }
  const contentType = single(headers.get('content-type'));
  if (contentType !== undefined && contentType !== '') attrs.datacontenttype = contentType;
  for (const issue of attributeIssues(attrs)) {
    issues.push(
      issue.startsWith('missing required attribute ') ? `${issue} (header ce-${issue.slice(27)})` : issue,
    );
  }
  let data: unknown;
  let raw: Buffer | undefined;
  if (body.length > 0) {
    const ct = attrs.datacontenttype as string | undefined;
    const decoded = decodeData(body, ct);
    if (decoded.ok) {
      data = decoded.data;
      if (isJsonContentType(ct)) raw = body;
    } else if (ct === undefined) {
      data = body; // no Content-Type and not JSON: keep the bytes
    } else {
      issues.push(decoded.issue);
    }
  }
  if (issues.length > 0) throw new CloudEventDecodeError(issues);
  return buildEvent(attrs, data, raw);
}

function decodeStructured(body: Buffer): CloudEvent<unknown> {
  if (body.length === 0) throw new CloudEventDecodeError(['structured mode body is empty']);
  const parsed = parseJson(body);
  if (!parsed.ok)
    throw new CloudEventDecodeError([`structured mode body is not valid JSON: ${parsed.error}`]);
  // `data` passes through byte for byte: the event keeps the member's JSON text as received.
  const { event, issues } = fromJsonObject(parsed.value, dataMemberText(parsed.text));
  if (event === undefined) throw new CloudEventDecodeError(issues);
  return event;
}

function decodeBatch(body: Buffer): CloudEvent<unknown>[] {
  const parsed = parseJson(body);
  if (!parsed.ok) throw new CloudEventDecodeError([`batch body is not valid JSON: ${parsed.error}`]);
  if (!Array.isArray(parsed.value))
    throw new CloudEventDecodeError(['batch body must be a JSON array of events']);
  const events: CloudEvent<unknown>[] = [];
  const issues: string[] = [];
  const texts = batchDataTexts(parsed.text);
  parsed.value.forEach((item, i) => {
    const r = fromJsonObject(item, texts[i]);
    if (r.event) events.push(r.event);
    for (const issue of r.issues) issues.push(`event[${i}]: ${issue}`);
  });
  if (issues.length > 0) throw new CloudEventDecodeError(issues);
  return events;
}

export type HttpContentMode = 'binary' | 'structured' | 'batch';

/** Content mode of an HTTP message per §3, or `undefined` when it does not look like a CloudEvent at all. */
export function httpContentMode(headers: HttpHeadersInput): HttpContentMode | 'unsupported' | undefined {
  const h = normalizeHeaders(headers);
  return modeOf(h);
}

function modeOf(h: Map<string, string | readonly string[]>): HttpContentMode | 'unsupported' | undefined {
  const format = formatMode(single(h.get('content-type')));
  if (format !== undefined) return format;
  for (const name of h.keys()) if (name.startsWith('ce-')) return 'binary';
  return undefined;
}

/**
 * Decodes an HTTP request or response into its events (one for binary/structured, any number for batch) and
 * validates each. Throws `CloudEventDecodeError` (400) whose message and `issues` list every problem.
 */
export function decodeHttp(
  headers: HttpHeadersInput,
  body: Buffer | Uint8Array | string | null | undefined,
): CloudEvent<unknown>[] {
  const h = normalizeHeaders(headers);
  const buf = toBuffer(body);
  switch (modeOf(h)) {
    case 'binary':
      return [decodeBinary(h, buf)];
    case 'structured':
      return [decodeStructured(buf)];
    case 'batch':
      return decodeBatch(buf);
    case 'unsupported':
      throw new CloudEventDecodeError([
        `unsupported event format ${JSON.stringify(single(h.get('content-type')))}: use application/cloudevents+json or application/cloudevents-batch+json`,
      ]);
    default:
      throw new CloudEventDecodeError([
        'no CloudEvent found: expected ce-* headers (binary mode) or Content-Type application/cloudevents+json (structured mode)',
      ]);
  }
}

/** `decodeHttp` for exactly one event (binary or structured); a batch is rejected. */
export function decodeHttpEvent(
  headers: HttpHeadersInput,
  body: Buffer | Uint8Array | string | null | undefined,
): CloudEvent<unknown> {
  const events = decodeHttp(headers, body);
  if (events.length !== 1 || modeOf(normalizeHeaders(headers)) === 'batch') {
    throw new CloudEventDecodeError(['expected a single CloudEvent, got a batch']);
  }
  return events[0]!;
}

/**
 * True when an HTTP response (e.g. a subscriber's 2xx reply) carries a CloudEvent: a CloudEvents format
 * content type with a body, or (binary mode) all four required attributes as `ce-` headers (§3).
 */
export function isCloudEventResponse(
  headers: HttpHeadersInput,
  body?: Buffer | Uint8Array | string | null,
): boolean {
  const h = normalizeHeaders(headers);
  const format = formatMode(single(h.get('content-type')));
  if (format === 'structured' || format === 'batch') return toBuffer(body).length > 0;
  return h.has('ce-id') && h.has('ce-source') && h.has('ce-type') && h.has('ce-specversion');
}
