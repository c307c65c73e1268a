import { describe, expect, it } from '@jest/globals';
import { CloudEventDecodeError } from './errors.js';
import { createCloudEvent } from './event.js';
import { encodeHttpBinary, encodeHttpStructured } from './http.js';
import { fromKafkaMessage, kafkaToHttpBinary, toKafkaMessage } from './kafka.js';

describe('Kafka binary mode', () => {
  it('round-trips attributes, partitionkey <-> record key and JSON data', () => {
    const event = createCloudEvent({
      type: 'dev.tributary.storage.object.created',
      source: '/storage/photos',
      id: 'abc-1',
      subject: 'dir/a b é.jpg',
      time: '2024-05-01T10:20:30Z',
      partitionkey: 'photos/dir/a b é.jpg',
      bucket: 'photos',
      data: { key: 'dir/a b é.jpg', size: 12 },
    });
    const record = toKafkaMessage(event);
    expect(record.key?.toString()).toBe('photos/dir/a b é.jpg');
    expect(record.headers.ce_subject?.toString()).toBe('dir/a b é.jpg'); // UTF-8, no percent-encoding
    expect(record.headers.ce_partitionkey?.toString()).toBe('photos/dir/a b é.jpg');
    expect(record.headers['content-type']?.toString()).toBe('application/json');
    expect(record.headers.ce_specversion?.toString()).toBe('1.0');
    expect(record.headers.ce_datacontenttype).toBeUndefined();

    const back = fromKafkaMessage(record);
    expect(back.subject).toBe('dir/a b é.jpg');
    expect(back.partitionkey).toBe('photos/dir/a b é.jpg');
    expect(back.bucket).toBe('photos');
    expect(back.data).toEqual({ key: 'dir/a b é.jpg', size: 12 });
  });

  // Regression (issue 17, difference 3): the key is not an attribute; Knative does not invent partitionkey.
  it('round-trips binary data and does not turn the record key into partitionkey', () => {
    const bytes = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00]);
    const event = createCloudEvent({
      type: 't',
      source: '/s',
      datacontenttype: 'application/octet-stream',
      data: bytes,
    });
    const record = toKafkaMessage(event);
    expect(record.key).toBeNull();
    expect(record.value?.equals(bytes)).toBe(true);
    const back = fromKafkaMessage({
      key: Buffer.from('tenant-7'),
      value: record.value,
      headers: record.headers,
    });
    expect(back.partitionkey).toBeUndefined();
    expect((back.data as Buffer).equals(bytes)).toBe(true);
  });

  // Regression (issue 17, difference 4): a repeated ce_ header counts with its last value everywhere.
  it('takes the last value of a repeated ce_ header, decoding and forwarding alike', () => {
    const record = toKafkaMessage(createCloudEvent({ type: 't', source: '/s', id: 'dup' }));
    const headers = { ...record.headers, ce_subject: [Buffer.from('first'), Buffer.from('last')] };
    expect(fromKafkaMessage({ key: null, value: null, headers }).subject).toBe('last');
    expect(kafkaToHttpBinary({ key: null, value: null, headers }).attributes.subject).toBe('last');
  });

  // Regression (issue 17, differences 1 and 2): a structured record keeps its data bytes and gains no time.
  it('passes structured JSON data through byte for byte and invents no time', () => {
    const body =
      '{"specversion":"1.0","id":"big","source":"/s","type":"t","datacontenttype":"application/json",' +
      '"data":{"n": 12345678901234567890, "x":[1.0,2e3]}}';
    const input = {
      key: null,
      value: Buffer.from(body),
      headers: { 'content-type': Buffer.from('application/cloudevents+json') },
    };
    const event = fromKafkaMessage(input);
    expect(event.time).toBeUndefined();
    const binary = toKafkaMessage(event);
    expect(binary.value?.toString()).toBe('{"n": 12345678901234567890, "x":[1.0,2e3]}');
    expect(binary.headers.ce_time).toBeUndefined();
    const view = kafkaToHttpBinary(input);
    expect(view.message.body.toString()).toBe('{"n": 12345678901234567890, "x":[1.0,2e3]}');
    expect(view.message.headers['ce-time']).toBeUndefined();
  });

  it('maps an event without data to a null value and back', () => {
    const event = createCloudEvent({ type: 't', source: '/s' });
    const record = toKafkaMessage(event);
    expect(record.value).toBeNull();
    expect(fromKafkaMessage(record).data).toBeUndefined();
  });

  it('decodes string headers (kafkajs) and structured records', () => {
    const e = fromKafkaMessage({
      key: null,
      value: '{"x":1}',
      headers: {
        ce_specversion: '1.0',
        ce_id: '1',
        ce_source: '/s',
        ce_type: 't',
        'content-type': 'application/json',
      },
    });
    expect(e.data).toEqual({ x: 1 });
    const st = encodeHttpStructured(e);
    const s = fromKafkaMessage({
      key: null,
      value: st.body,
      headers: { 'content-type': Buffer.from(st.headers['content-type']!) },
    });
    expect(s.id).toBe('1');
    expect(s.data).toEqual({ x: 1 });
  });

  it('rejects a record missing required attributes', () => {
    let caught: unknown;
    try {
      fromKafkaMessage({ key: null, value: null, headers: { ce_id: Buffer.from('1') } });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CloudEventDecodeError);
    expect((caught as CloudEventDecodeError).issues).toEqual([
      'missing required attribute specversion (header ce_specversion)',
      'missing required attribute source (header ce_source)',
      'missing required attribute type (header ce_type)',
    ]);
  });
});

describe('kafkaToHttpBinary (forwarding without decoding)', () => {
  // The dispatcher forwards records through this; it must produce what decode-then-encode produces.
  const cases = {
    'JSON data, non-ASCII and quote-bearing attributes': createCloudEvent({
      type: 'dev.tributary.db.public.users.insert',
      source: '/db/postgres/public/users',
      id: 'a-1',
      subject: 'dir/a b é "q" 100%.jpg',
      time: '2024-05-01T10:20:30.123Z',
      partitionkey: 'users/1',
      knativebrokerttl: '254',
      data: { name: 'Zoë', n: 1 },
    }),
    'binary data': createCloudEvent({
      type: 't',
      source: '/s',
      id: 'b-1',
      datacontenttype: 'application/octet-stream',
      data: Buffer.from([0xde, 0xad, 0x00]),
    }),
    'text data': createCloudEvent({
      type: 't',
      source: '/s',
      id: 'c-1',
      datacontenttype: 'text/plain',
      data: 'hi',
    }),
    'no data': createCloudEvent({ type: 't', source: '/s', id: 'd-1' }),
  };
  for (const [name, event] of Object.entries(cases)) {
    it(`matches encodeHttpBinary(fromKafkaMessage(r)): ${name}`, () => {
      const record = toKafkaMessage(event);
      const expected = encodeHttpBinary(fromKafkaMessage(record));
      const view = kafkaToHttpBinary(record);
      expect(view.message.headers).toEqual(expected.headers);
      expect(Buffer.compare(view.message.body, expected.body)).toBe(0);
      expect(view.attributes.id).toBe(event.id);
      expect(view.attributes.type).toBe(event.type);
      expect(view.attributes.data).toBeUndefined();
    });
  }

  it('leaves out skipped attributes from the headers but keeps them as attributes', () => {
    const record = toKafkaMessage(cases['JSON data, non-ASCII and quote-bearing attributes']);
    const view = kafkaToHttpBinary(record, new Set(['knativebrokerttl']));
    expect(view.message.headers['ce-knativebrokerttl']).toBeUndefined();
    expect(view.attributes.knativebrokerttl).toBe('254');
    expect(view.message.headers['ce-subject']).toBe('dir/a%20b%20%C3%A9%20%22q%22%20100%25.jpg');
  });

  it('does not restore partitionkey from the record key', () => {
    const record = toKafkaMessage(
      createCloudEvent({ type: 't', source: '/s', id: 'k', partitionkey: 'p/1' }),
    );
    delete record.headers.ce_partitionkey;
    const view = kafkaToHttpBinary(record);
    expect(record.key?.toString()).toBe('p/1');
    expect(view.attributes.partitionkey).toBeUndefined();
    expect(view.message.headers['ce-partitionkey']).toBeUndefined();
  });

  it('translates structured records through the full decoder', () => {
    const event = createCloudEvent({ type: 't', source: '/s', id: 'st-1', data: { a: 1 } });
    const http = encodeHttpStructured(event);
    const view = kafkaToHttpBinary({
      key: null,
      value: http.body,
      headers: { 'content-type': Buffer.from(http.headers['content-type'] as string) },
    });
    expect(view.message.headers).toEqual(encodeHttpBinary(event).headers);
    expect(JSON.parse(view.message.body.toString())).toEqual({ a: 1 });
  });

  it('rejects a record without required attributes, naming the header', () => {
    const record = toKafkaMessage(createCloudEvent({ type: 't', source: '/s', id: 'x' }));
    delete record.headers.ce_source;
    expect(() => kafkaToHttpBinary(record)).toThrow(CloudEventDecodeError);
    expect(() => kafkaToHttpBinary(record)).toThrow(/ce_source/);
  });
});

describe('Kafka header bytes reused across records', () => {
  it('gives each record its own values: a later record never changes an earlier one', () => {
    const make = (i: number, type: string) =>
      createCloudEvent({ type, source: '/s', id: `id-${i}`, subject: `s${i}`, data: { i } });
    const a = toKafkaMessage(make(1, 'dev.tributary.a'));
    const b = toKafkaMessage(make(2, 'dev.tributary.a'));
    const c = toKafkaMessage(make(3, 'dev.tributary.c'));
    expect(a.headers.ce_type?.toString()).toBe('dev.tributary.a');
    expect(b.headers.ce_type?.toString()).toBe('dev.tributary.a');
    expect(c.headers.ce_type?.toString()).toBe('dev.tributary.c');
    expect(a.headers.ce_id?.toString()).toBe('id-1');
    expect(b.headers.ce_id?.toString()).toBe('id-2');
    expect(c.headers.ce_id?.toString()).toBe('id-3');
    expect(a.headers.ce_subject?.toString()).toBe('s1');
    // Repeated values share one buffer; a changed value gets a new one.
    expect(b.headers.ce_source).toBe(a.headers.ce_source);
    expect(c.headers.ce_type).not.toBe(a.headers.ce_type);
    expect(fromKafkaMessage(a).id).toBe('id-1');
  });
});
