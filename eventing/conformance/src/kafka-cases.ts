// Tricky events for the Kafka binding, in both directions: the CloudEvents Java SDK (what the Knative Kafka
// broker runs) writes, Tributary reads; Tributary writes what its ingress stores, the Java SDK reads.

export interface KafkaCase {
  name: string;
  /** How the Java SDK writes it, and how the event reaches Tributary's ingress (HTTP binary or structured). */
  mode: 'binary' | 'structured';
  /** Record key the Java producer sets (the Kafka broker sets the `partitionkey` value; null = none). */
  key: string | null;
  /** Context attributes as strings, plus `data_base64` for the data bytes. */
  event: Record<string, string>;
}

const b64 = (s: string | Buffer) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s).toString('base64');
const base = (id: string) => ({
  specversion: '1.0',
  id,
  source: '/conformance',
  type: 'dev.tributary.conformance',
});

export const KAFKA_CASES: readonly KafkaCase[] = [
  {
    name: 'binary data with invalid UTF-8',
    mode: 'binary',
    key: null,
    event: {
      ...base('k-1'),
      datacontenttype: 'application/octet-stream',
      data_base64: b64(Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80])),
    },
  },
  {
    name: 'invalid UTF-8 without a content type',
    mode: 'binary',
    key: null,
    event: { ...base('k-2'), data_base64: b64(Buffer.from([0xc0, 0xaf, 0xed, 0xa0, 0x80])) },
  },
  {
    name: 'non-ASCII extension and subject',
    mode: 'binary',
    key: null,
    event: {
      ...base('k-3'),
      subject: 'ö/日本/😀',
      uni: 'héllo wörld €',
      datacontenttype: 'text/plain; charset=utf-8',
      data_base64: b64('grüße 😀'),
    },
  },
  {
    name: '% and percent-encoding lookalikes in extensions',
    mode: 'binary',
    key: null,
    event: { ...base('k-4'), pct: '100%', enc: '%41%zz%', spaced: ' a  b ', quote: 'say "hi"' },
  },
  {
    name: 'nanosecond time in UTC',
    mode: 'binary',
    key: null,
    event: { ...base('k-5'), time: '2024-05-01T10:34:56.123456789Z' },
  },
  {
    name: 'time with an offset and a short fraction',
    mode: 'binary',
    key: null,
    event: { ...base('k-6'), time: '2024-05-01T12:34:56.5+02:00' },
  },
  {
    name: 'time with a negative offset, no fraction',
    mode: 'binary',
    key: null,
    event: { ...base('k-7'), time: '2024-12-31T23:59:59-05:30' },
  },
  { name: 'no data, no content type', mode: 'binary', key: null, event: { ...base('k-8') } },
  {
    name: 'no data with a content type',
    mode: 'binary',
    key: null,
    event: { ...base('k-9'), datacontenttype: 'application/json' },
  },
  {
    name: 'JSON data in binary mode with big integers and formatting',
    mode: 'binary',
    key: null,
    event: {
      ...base('k-10'),
      datacontenttype: 'application/json',
      data_base64: b64('{"n": 12345678901234567890, "f": 1.50, "e": 1e400}'),
    },
  },
  {
    name: 'structured mode with big integers',
    mode: 'structured',
    key: null,
    event: {
      ...base('k-11'),
      datacontenttype: 'application/json',
      data_base64: b64('{"n":12345678901234567890,"m":-9007199254740993}'),
    },
  },
  {
    name: 'structured mode with binary data',
    mode: 'structured',
    key: null,
    event: {
      ...base('k-12'),
      datacontenttype: 'application/octet-stream',
      data_base64: b64(Buffer.from([0, 1, 2, 0xff])),
    },
  },
  {
    name: 'structured mode with text data and an offset time',
    mode: 'structured',
    key: null,
    event: {
      ...base('k-13'),
      time: '2024-05-01T12:34:56.123+02:00',
      datacontenttype: 'text/plain',
      data_base64: b64('plain "text" ü'),
    },
  },
  {
    name: 'key with partitionkey',
    mode: 'binary',
    key: 'tenant-1/order-9',
    event: {
      ...base('k-14'),
      partitionkey: 'tenant-1/order-9',
      datacontenttype: 'application/json',
      data_base64: b64('{"a":1}'),
    },
  },
  {
    name: 'key without partitionkey',
    mode: 'binary',
    key: 'some-key',
    event: { ...base('k-15'), datacontenttype: 'application/json', data_base64: b64('{"a":2}') },
  },
  {
    name: 'dataschema and subject',
    mode: 'binary',
    key: null,
    event: { ...base('k-16'), dataschema: 'https://example.com/s.json#v1', subject: 'a b/c?d=e' },
  },
];
