// KafkaRecordWriter must write exactly the record bytes of toKafkaMessage(event) (key, value, headers in that
// order), whatever the event holds and wherever its slab runs out. The expected bytes come from a plain
// encoder of the Kafka record format written here from the spec, independently of the writer.
import { describe, expect, it } from '@jest/globals';
import { buildEvent, type CloudEventLike, createCloudEvent } from './event.js';
import { toKafkaMessage } from './kafka.js';
import { KafkaRecordWriter } from './kafka-record.js';

function varInt(value: number): number[] {
  let v = (value << 1) ^ (value >> 31);
  const out: number[] = [];
  while ((v & 0xffffff80) !== 0) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

function field(bytes: Buffer | null): Buffer {
  if (bytes === null) return Buffer.from(varInt(-1));
  return Buffer.concat([Buffer.from(varInt(bytes.length)), bytes]);
}

/** keyLength .. headers of a Kafka record (https://kafka.apache.org/documentation/#record). */
function expectedBytes(event: CloudEventLike): Buffer {
  const r = toKafkaMessage(event);
  const names = Object.keys(r.headers);
  return Buffer.concat([
    field(r.key),
    field(r.value),
    Buffer.from(varInt(names.length)),
    ...names.flatMap((n) => [field(Buffer.from(n, 'utf8')), field(r.headers[n] as Buffer)]),
  ]);
}

const base = {
  type: 'dev.tributary.db.row.inserted',
  source: '/db/postgres/public/orders',
  id: '0/1A2B3C8-4',
  time: '2024-05-01T10:20:30.123456Z',
};

function events(): CloudEventLike[] {
  const long = 'x'.repeat(63) + 'é'.repeat(40) + 'y'.repeat(200);
  const manyExtensions: Record<string, unknown> = {};
  for (let i = 0; i < 70; i++) manyExtensions[`ext${i}`] = `value-${i}`;
  const raw = Buffer.from('{"type":"INSERT","record":{"id":1,"note":"grüße"}}');
  return [
    createCloudEvent({
      ...base,
      subject: '42',
      partitionkey: 'public.orders/42',
      schema: 'public',
      table: 'orders',
      lsn: '0/1A2B3C8',
      txid: '778',
      data: { type: 'INSERT', record: { id: 42, total: '10.50' } },
    }),
    // Raw JSON bytes remembered by buildEvent are written as they are.
    buildEvent(
      { ...base, specversion: '1.0', partitionkey: 'k', datacontenttype: 'application/json' },
      {},
      raw,
    ),
    buildEvent({ ...base, specversion: '1.0' }, { a: 1 }, raw), // no content type: application/json added
    // Non-ASCII everywhere, values around the one-byte length (63/64 units) and a long one.
    createCloudEvent({
      ...base,
      subject: 'ö/日本/😀',
      partitionkey: 'схема.таблица/ключ',
      uni: 'héllo wörld €',
      edge63: 'a'.repeat(63),
      edge64: 'b'.repeat(64),
      edge62u: `${'c'.repeat(61)}é`,
      long,
      // Around the writer's one-pass limit (3 × length within the same varint size as length).
      nonascii30: 'é'.repeat(30),
      ascii2730: 'a'.repeat(2730),
      ascii2731: 'a'.repeat(2731),
      euro3000: '€'.repeat(3000),
      data: { text: long },
    }),
    createCloudEvent({
      ...base,
      datacontenttype: 'application/octet-stream',
      data: Buffer.from([0, 255, 1]),
    }),
    createCloudEvent({ ...base, datacontenttype: 'application/octet-stream', data: Buffer.alloc(5000, 7) }),
    createCloudEvent({ ...base, datacontenttype: 'text/plain; charset=utf-8', data: 'grüße 😀' }),
    createCloudEvent({ ...base, datacontenttype: 'text/plain', data: long }),
    // A lone surrogate in text data becomes U+FFFD, as Buffer.from writes it.
    createCloudEvent({ ...base, datacontenttype: 'text/plain', data: `x\ud800y${'z'.repeat(100)}` }),
    createCloudEvent({ ...base }), // no data, no key
    createCloudEvent({ ...base, count: 7, flag: true, when: new Date(0), bin: new Uint8Array([1, 2]) }),
    createCloudEvent({ ...base, ...manyExtensions, partitionkey: 'many', data: [1, 2, 3] }), // 70+ headers
    createCloudEvent({ ...base, data: null }),
  ];
}

describe('KafkaRecordWriter', () => {
  it('writes the bytes of toKafkaMessage encoded as a Kafka record', () => {
    const writer = new KafkaRecordWriter();
    for (const event of events()) {
      const { key, encoded } = writer.write(event);
      expect(encoded.toString('hex')).toBe(expectedBytes(event).toString('hex'));
      const expectedKey = toKafkaMessage(event).key;
      if (expectedKey === null) expect(key).toBeNull();
      else expect(key?.toString('hex')).toBe(expectedKey.toString('hex'));
    }
  });

  it('keeps earlier records intact when a slab fills up mid-record, and after a reset reuses memory', () => {
    const all = [...events(), ...events(), ...events()];
    for (const slab of [16, 100, 1000, 4096]) {
      const writer = new KafkaRecordWriter(slab);
      const written = all.map((e) => writer.write(e));
      written.forEach(({ encoded }, i) => {
        expect(encoded.equals(expectedBytes(all[i] as CloudEventLike))).toBe(true);
      });
      writer.reset();
      const again = writer.write(all[0] as CloudEventLike);
      expect(again.encoded.equals(expectedBytes(all[0] as CloudEventLike))).toBe(true);
    }
  });

  it('fails as toKafkaMessage does on data JSON cannot encode', () => {
    const event = buildEvent({ ...base, specversion: '1.0', datacontenttype: 'text/plain' }, () => 1);
    expect(() => toKafkaMessage(event)).toThrow(/first argument/);
    expect(() => new KafkaRecordWriter().write(event)).toThrow(/first argument/);
  });
});
