/**
 * Kafka protocol binding (kafka-protocol-binding.md), binary content mode as the Knative Kafka Broker writes it:
 * attributes as `ce_<name>` headers (UTF-8, no percent-encoding), `datacontenttype` as the `content-type`
 * header, data as the record value (no data -> null value), and the `partitionkey` extension as the record key
 * (§3.1 "Key Mapper"; the attribute stays in the headers too). Structured records are decoded as well.
 *
 * Decoding reads what the producer wrote and nothing else, as the CloudEvents Java SDK's `KafkaMessageFactory`
 * (which the Knative Kafka broker runs) does: the record key does not become a `partitionkey` attribute, and a
 * repeated `ce_` header counts with its last value (Kafka's `Headers.lastHeader`).
 */
import type { CloudEvent } from 'cloudevents';
import { formatMode, isJsonContentType } from './content-type.js';
import { CloudEventDecodeError } from './errors.js';
import { attributeIssues, attributeString, buildEvent, type CloudEventLike, encodeData } from './event.js';
import { encodeHeaderValue } from './header-value.js';
import { decodeData, encodeHttpBinary, type HttpMessage } from './http.js';
import { dataMemberText, fromJsonObject } from './json-format.js';

export interface KafkaRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
  /** Record timestamp (ms since epoch, as a string, like kafkajs); unset = the producer's clock. */
  timestamp?: string;
}

/** A consumed record as kafkajs (and most clients) hand it over. */
export interface KafkaRecordInput {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Readonly<Record<string, Buffer | string | readonly (Buffer | string)[] | undefined>>;
}

/**
 * Per attribute name: its header name and the last value's UTF-8 bytes. Consecutive events from one producer
 * mostly repeat `specversion`, `type`, `source` and their extensions, so the same (never mutated) Buffer is
 * reused instead of allocating one per record; a differing value costs one string comparison. Bounded by the
 * number of distinct attribute names (at most {@link MAX_MEMO} kept).
 */
const headerMemo = new Map<string, { header: string; value: string; bytes: Buffer }>();
const MAX_MEMO = 256;

function headerBytes(name: string, value: string): { header: string; bytes: Buffer } {
  let m = headerMemo.get(name);
  if (m === undefined) {
    if (headerMemo.size >= MAX_MEMO) headerMemo.clear();
    m = { header: `ce_${name}`, value, bytes: Buffer.from(value, 'utf8') };
    headerMemo.set(name, m);
  } else if (m.value !== value) {
    m.value = value;
    m.bytes = Buffer.from(value, 'utf8');
  }
  return m;
}

/** Encodes `event` as a binary-mode Kafka record; `key` is the `partitionkey` extension (null when absent). */
export function toKafkaMessage(event: CloudEventLike): KafkaRecord {
  const headers: Record<string, Buffer> = {};
  for (const name in event) {
    if (name === 'data' || name === 'data_base64' || name === 'datacontenttype') continue;
    const v = event[name];
    if (v === undefined || v === null || typeof v === 'function') continue;
    const h = headerBytes(name, attributeString(v));
    headers[h.header] = h.bytes;
  }
  const encoded = encodeData(event);
  const ct = encoded?.contentType ?? (event.datacontenttype as string | undefined);
  if (ct !== undefined) headers['content-type'] = Buffer.from(ct, 'utf8');
  const pk = event.partitionkey;
  return {
    key: pk === undefined || pk === null ? null : Buffer.from(attributeString(pk), 'utf8'),
    value: encoded?.bytes ?? null,
    headers,
  };
}

function headerString(value: Buffer | string | readonly (Buffer | string)[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = Array.isArray(value) ? value[value.length - 1] : value;
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : (v as Buffer).toString('utf8');
}

function asBuffer(v: Buffer | string | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

/** `attributeIssues`, naming the header a missing attribute comes from. */
function headerIssues(attrs: Readonly<Record<string, unknown>>): string[] {
  return attributeIssues(attrs).map((issue) =>
    issue.startsWith('missing required attribute ') ? `${issue} (header ce_${issue.slice(27)})` : issue,
  );
}

/**
 * Decodes a Kafka record into a validated CloudEvent (binary or structured mode). The record key is not an
 * attribute. Structured-mode JSON `data` keeps its bytes as received. Throws `CloudEventDecodeError`.
 */
export function fromKafkaMessage(record: KafkaRecordInput): CloudEvent<unknown> {
  const headers = record.headers ?? {};
  const ct = headerString(headers['content-type']);
  const value = asBuffer(record.value);
  const mode = formatMode(ct);
  if (mode === 'structured') {
    if (value === null || value.length === 0)
      throw new CloudEventDecodeError(['structured record has no value']);
    const text = value.toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new CloudEventDecodeError([
        `structured record value is not valid JSON: ${(err as Error).message}`,
      ]);
    }
    const r = fromJsonObject(parsed, dataMemberText(text));
    if (!r.event) throw new CloudEventDecodeError(r.issues);
    return r.event;
  }
  if (mode !== undefined) throw new CloudEventDecodeError([`unsupported event format ${JSON.stringify(ct)}`]);

  const attrs: Record<string, unknown> = {};
  for (const name in headers) {
    if (!name.startsWith('ce_') || name.length <= 3) continue;
    const attr = name.slice(3);
    if (attr === 'datacontenttype' && ct !== undefined) continue;
    attrs[attr] = headerString(headers[name]);
  }
  if (ct !== undefined && ct !== '') attrs.datacontenttype = ct;
  const issues = headerIssues(attrs);
  let data: unknown;
  let raw: Buffer | undefined;
  const contentType = attrs.datacontenttype as string | undefined;
  if (value !== null && !(value.length === 0 && isJsonContentType(contentType))) {
    const decoded = decodeData(value, contentType);
    if (decoded.ok) {
      data = decoded.data;
      if (isJsonContentType(contentType)) raw = value;
    } else if (contentType === undefined) {
      data = value;
    } else {
      issues.push(decoded.issue);
    }
  }
  if (issues.length > 0) throw new CloudEventDecodeError(issues);
  return buildEvent(attrs, data, raw);
}

/** A consumed record as an HTTP binary-mode message, plus its context attributes (as strings). */
export interface KafkaHttpView {
  /** Context attributes by name, all strings (as the Kafka binding carries them): what filters read. */
  attributes: Record<string, string>;
  /** `ce-` headers (percent-encoded per the HTTP binding), `content-type`, and the record value as body. */
  message: HttpMessage;
}

const NO_BODY = Buffer.alloc(0);

/**
 * Translates a binary-mode record straight into an HTTP binary-mode message: `ce_<name>` headers become
 * `ce-<name>` headers and the record value is the body, byte for byte, without building a CloudEvent or
 * parsing data (what a forwarding broker needs; the Knative Kafka broker forwards data bytes the same way).
 * Context attributes are validated as `fromKafkaMessage` validates them (the record key is not one);
 * `skip` names attributes left out of the headers (still in `attributes`). Structured
 * records go through `fromKafkaMessage`. Throws `CloudEventDecodeError`.
 */
export function kafkaToHttpBinary(record: KafkaRecordInput, skip?: ReadonlySet<string>): KafkaHttpView {
  const headers = record.headers ?? {};
  const ct = headerString(headers['content-type']);
  const mode = formatMode(ct);
  if (mode !== undefined) {
    const event = fromKafkaMessage(record);
    const attributes: Record<string, string> = {};
    for (const name in event) {
      const v = (event as unknown as Record<string, unknown>)[name];
      if (
        name === 'data' ||
        name === 'data_base64' ||
        v === undefined ||
        v === null ||
        typeof v === 'function'
      )
        continue;
      attributes[name] = attributeString(v);
    }
    const message = encodeHttpBinary(event);
    if (skip) for (const name of skip) delete message.headers[`ce-${name}`];
    return { attributes, message };
  }
  const attributes: Record<string, string> = {};
  const out: Record<string, string> = {};
  for (const name in headers) {
    if (!name.startsWith('ce_') || name.length <= 3) continue;
    const attr = name.slice(3);
    if (attr === 'datacontenttype' && ct !== undefined) continue;
    const v = headerString(headers[name]);
    if (v === undefined) continue;
    attributes[attr] = v;
    if (skip === undefined || !skip.has(attr)) out[`ce-${attr}`] = encodeHeaderValue(v);
  }
  if (ct !== undefined && ct !== '') {
    attributes.datacontenttype = ct;
    out['content-type'] = ct;
  }
  const issues = headerIssues(attributes);
  if (issues.length > 0) throw new CloudEventDecodeError(issues);
  return { attributes, message: { headers: out, body: asBuffer(record.value) ?? NO_BODY } };
}
