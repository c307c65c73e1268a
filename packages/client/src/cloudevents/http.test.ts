import { describe, expect, it } from '@jest/globals';
import { CloudEvent } from 'cloudevents';
import { CloudEventDecodeError } from './errors.js';
import { createCloudEvent } from './event.js';
import {
  decodeHttp,
  decodeHttpEvent,
  encodeHttpBatch,
  encodeHttpBinary,
  encodeHttpStructured,
  isCloudEventResponse,
} from './http.js';

const tricky = 'a b%c"d é€😀';

function sample(extra: Record<string, unknown> = {}): CloudEvent<unknown> {
  return new CloudEvent({
    specversion: '1.0',
    id: '0/1A2B3C8-4',
    source: '/db/app/public/users',
    type: 'dev.tributary.db.row.inserted',
    time: '2024-05-01T10:20:30.123456Z',
    subject: tricky,
    datacontenttype: 'application/json',
    partitionkey: 'public.users/42',
    txid: '731',
    data: { id: 42, name: 'Ada', tags: ['x'] },
    ...extra,
  });
}

function decodeError(fn: () => unknown): CloudEventDecodeError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CloudEventDecodeError);
    return err as CloudEventDecodeError;
  }
  throw new Error('expected a CloudEventDecodeError');
}

describe('HTTP binary mode', () => {
  it('round-trips attributes (percent-encoded headers), extensions and JSON data', () => {
    const event = sample();
    const msg = encodeHttpBinary(event);
    expect(msg.headers['ce-subject']).toBe('a%20b%25c%22d%20%C3%A9%E2%82%AC%F0%9F%98%80');
    expect(msg.headers['content-type']).toBe('application/json');
    expect(msg.headers['ce-datacontenttype']).toBeUndefined();
    expect(msg.headers['ce-time']).toBe('2024-05-01T10:20:30.123456Z');
    expect(msg.headers['ce-partitionkey']).toBe('public.users/42');
    expect(JSON.parse(msg.body.toString())).toEqual({ id: 42, name: 'Ada', tags: ['x'] });

    const [back] = decodeHttp(msg.headers, msg.body);
    expect(back).toBeInstanceOf(CloudEvent);
    expect(back!.subject).toBe(tricky);
    expect(back!.time).toBe('2024-05-01T10:20:30.123456Z');
    expect(back!.data).toEqual({ id: 42, name: 'Ada', tags: ['x'] });
    expect(back!.txid).toBe('731');
    expect(Object.isFrozen(back)).toBe(true);
  });

  it('round-trips binary data and UTF-8 text data', () => {
    const bytes = Buffer.from([0, 1, 2, 255, 254]);
    const bin = createCloudEvent({
      type: 't.bin',
      source: '/s',
      datacontenttype: 'application/octet-stream',
      data: bytes,
    });
    const msg = encodeHttpBinary(bin);
    expect(msg.body.equals(bytes)).toBe(true);
    const back = decodeHttpEvent(msg.headers, msg.body);
    expect(Buffer.isBuffer(back.data)).toBe(true);
    expect((back.data as Buffer).equals(bytes)).toBe(true);
    expect(back.data_base64).toBe(bytes.toString('base64'));

    const text = createCloudEvent({
      type: 't.txt',
      source: '/s',
      datacontenttype: 'text/plain; charset=utf-8',
      data: 'héllo',
    });
    const t = encodeHttpBinary(text);
    expect(decodeHttpEvent(t.headers, t.body).data).toBe('héllo');
  });

  it('accepts mixed-case header names, quoted values and a fetch Headers object', () => {
    const headers = new Headers({
      'CE-SpecVersion': '1.0',
      'Ce-Id': '"quoted id"',
      'ce-source': '/s',
      'ce-type': 't',
      'Content-Type': 'application/json',
    });
    const [e] = decodeHttp(headers, '{"a":1}');
    expect(e!.id).toBe('quoted id');
    expect(e!.data).toEqual({ a: 1 });
  });

  it('decodes an event without data', () => {
    const [e] = decodeHttp(
      { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't' },
      Buffer.alloc(0),
    );
    expect(e!.data).toBeUndefined();
  });

  it('rejects invalid events with every reason', () => {
    const err = decodeError(() =>
      decodeHttp(
        {
          'ce-id': '',
          'ce-source': '/s',
          'ce-foo_bar': 'x',
          'ce-time': 'yesterday',
          'ce-subject': 'bad%C0%A0',
          'content-type': 'application/json',
        },
        '{not json',
      ),
    );
    expect(err.statusCode).toBe(400);
    expect(err.retriable).toBe(false);
    expect(err.issues).toEqual(
      expect.arrayContaining([
        'missing required attribute specversion (header ce-specversion)',
        'missing required attribute type (header ce-type)',
        'attribute `id` must be a non-empty string',
        'extension name `foo_bar` must match [a-z0-9]{1,20}',
        'attribute `time` must be an RFC 3339 timestamp (e.g. 2024-01-31T12:00:00Z), got "yesterday"',
        'header ce-subject: percent-encoded bytes are not valid UTF-8',
      ]),
    );
    expect(
      err.issues.some((i) => i.startsWith('data is not valid JSON (content type application/json)')),
    ).toBe(true);
    expect(err.message).toContain('missing required attribute specversion');
  });

  it('rejects an unsupported specversion and a ce-datacontenttype header', () => {
    const err = decodeError(() =>
      decodeHttp(
        {
          'ce-specversion': '0.3',
          'ce-id': '1',
          'ce-source': '/s',
          'ce-type': 't',
          'ce-datacontenttype': 'text/plain',
        },
        '',
      ),
    );
    expect(err.issues).toContain('unsupported specversion "0.3": only "1.0" is accepted');
    expect(err.issues).toContain(
      'header ce-datacontenttype is not allowed in binary mode; Content-Type carries datacontenttype',
    );
  });

  it('rejects a request that is not a CloudEvent at all', () => {
    const err = decodeError(() => decodeHttp({ 'content-type': 'application/json' }, '{}'));
    expect(err.message).toContain('no CloudEvent found');
  });
});

describe('HTTP structured mode', () => {
  it('round-trips, keeping time exactly and writing bytes as data_base64', () => {
    const event = sample();
    const msg = encodeHttpStructured(event);
    expect(msg.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
    const json = JSON.parse(msg.body.toString());
    expect(json.time).toBe('2024-05-01T10:20:30.123456Z');
    expect(json.subject).toBe(tricky);
    expect(json.data).toEqual({ id: 42, name: 'Ada', tags: ['x'] });
    const [back] = decodeHttp(msg.headers, msg.body);
    expect(back!.subject).toBe(tricky);
    expect(back!.data).toEqual(event.data);

    const bytes = Buffer.from('\x00\x01binary');
    const bin = createCloudEvent({ type: 't', source: '/s', datacontenttype: 'image/png', data: bytes });
    const m2 = encodeHttpStructured(bin);
    const j2 = JSON.parse(m2.body.toString());
    expect(j2.data_base64).toBe(bytes.toString('base64'));
    expect(j2.data).toBeUndefined();
    const b2 = decodeHttpEvent(m2.headers, m2.body);
    expect((b2.data as Buffer).equals(bytes)).toBe(true);
  });

  it('re-encodes JSON data received in binary mode without reformatting', () => {
    const body = '{"b": 2,  "a": [1, 2]}';
    const [e] = decodeHttp(
      {
        'ce-specversion': '1.0',
        'ce-id': '1',
        'ce-source': '/s',
        'ce-type': 't',
        'content-type': 'application/json',
      },
      body,
    );
    const structured = JSON.parse(encodeHttpStructured(e!).body.toString());
    expect(structured.data).toEqual({ b: 2, a: [1, 2] });
    expect(encodeHttpBinary(e!).body.toString()).toBe(body);
  });

  it('treats null attributes as absent and rejects bad members', () => {
    const ok = decodeHttpEvent(
      { 'content-type': 'application/cloudevents+json' },
      JSON.stringify({
        specversion: '1.0',
        id: '1',
        source: '/s',
        type: 't',
        subject: null,
        data: 'just a string',
      }),
    );
    expect(ok.subject).toBeUndefined();
    expect(ok.data).toBe('just a string');

    const err = decodeError(() =>
      decodeHttp(
        { 'content-type': 'application/cloudevents+json' },
        JSON.stringify({
          specversion: '1.0',
          id: 7,
          source: '/s',
          type: 't',
          Foo_Bar: 1,
          ext: { a: 1 },
          data: 1,
          data_base64: 'AA==',
        }),
      ),
    );
    expect(err.issues).toEqual([
      'attribute `id` must be a non-empty string, got number',
      'extension name `Foo_Bar` must match [a-z0-9]{1,20}',
      'extension `ext` must be a string, integer or boolean, got object',
      'members `data` and `data_base64` are mutually exclusive',
    ]);
  });

  it('checks extension value types and forbidden characters', () => {
    const ok = decodeHttpEvent(
      { 'content-type': 'application/cloudevents+json' },
      JSON.stringify({ specversion: '1.0', id: '1', source: '/s', type: 't', count: 5, flag: true }),
    );
    expect(ok.count).toBe(5);
    expect(ok.flag).toBe(true);
    const err = decodeError(() =>
      decodeHttp(
        { 'content-type': 'application/cloudevents+json' },
        JSON.stringify({
          specversion: '1.0',
          id: 'a\u0007b',
          source: '/s',
          type: 't',
          count: 1.5,
          big: 2 ** 31,
        }),
      ),
    );
    expect(err.issues).toEqual([
      'attribute `id` contains a control character or an unpaired surrogate',
      'extension `count` must be a 32-bit integer when it is a number, got 1.5',
      'extension `big` must be a 32-bit integer when it is a number, got 2147483648',
    ]);
  });

  it('rejects a body that is not JSON', () => {
    const err = decodeError(() => decodeHttp({ 'content-type': 'application/cloudevents+json' }, '{'));
    expect(err.issues[0]).toMatch(/^structured mode body is not valid JSON/);
  });
});

describe('HTTP batch mode', () => {
  it('round-trips several events', () => {
    const events = [
      sample(),
      createCloudEvent({
        type: 't2',
        source: '/s',
        data: Buffer.from([1, 2, 3]),
        datacontenttype: 'application/octet-stream',
      }),
    ];
    const msg = encodeHttpBatch(events);
    expect(msg.headers['content-type']).toBe('application/cloudevents-batch+json; charset=utf-8');
    const back = decodeHttp(msg.headers, msg.body);
    expect(back).toHaveLength(2);
    expect(back[0]!.subject).toBe(tricky);
    expect((back[1]!.data as Buffer).equals(Buffer.from([1, 2, 3]))).toBe(true);
    expect(decodeHttp(msg.headers, '[]')).toEqual([]);
  });

  it('names the failing event', () => {
    const err = decodeError(() =>
      decodeHttp(
        { 'content-type': 'application/cloudevents-batch+json' },
        JSON.stringify([
          { specversion: '1.0', id: '1', source: '/s', type: 't' },
          { specversion: '1.0', id: '2', source: '/s' },
        ]),
      ),
    );
    expect(err.issues).toEqual(['event[1]: missing required attribute type']);
    expect(() =>
      decodeHttpEvent(encodeHttpBatch([sample()]).headers, encodeHttpBatch([sample()]).body),
    ).toThrow('expected a single CloudEvent');
  });
});

describe('isCloudEventResponse', () => {
  it('recognises binary and structured replies only', () => {
    const bin = encodeHttpBinary(sample());
    expect(isCloudEventResponse(bin.headers, bin.body)).toBe(true);
    const st = encodeHttpStructured(sample());
    expect(isCloudEventResponse(st.headers, st.body)).toBe(true);
    expect(isCloudEventResponse({ 'content-type': 'application/json' }, '{}')).toBe(false);
    expect(isCloudEventResponse({ 'ce-id': '1' }, '')).toBe(false);
    expect(isCloudEventResponse({ 'content-type': 'application/cloudevents+json' }, '')).toBe(false);
  });
});

// Regression (issue 17, differences 1 and 2): nothing invented, JSON data byte for byte.
describe('events pass through unchanged', () => {
  const big = '{ "n": 12345678901234567890, "s": "\\u00e9", "f": 1.50 }';

  it('a structured event keeps its data bytes (integers above 2^53 intact)', () => {
    const body = `{"specversion":"1.0","id":"b","source":"/s","type":"t","data":${big},"datacontenttype":"application/json"}`;
    const event = decodeHttpEvent({ 'content-type': 'application/cloudevents+json' }, body);
    expect(encodeHttpBinary(event).body.toString()).toBe(big);
    expect(encodeHttpStructured(event).body.toString()).toContain(`"data":${big}`);
  });

  it('with duplicate data members, keeps the one JSON.parse keeps (the last)', () => {
    const body = '{"specversion":"1.0","id":"b","source":"/s","type":"t","data":1,"data":[2, 3]}';
    const event = decodeHttpEvent({ 'content-type': 'application/cloudevents+json' }, body);
    expect(encodeHttpBinary(event).body.toString()).toBe('[2, 3]');
  });

  it('every event of a batch keeps its data bytes', () => {
    const body = `[{"specversion":"1.0","id":"1","source":"/s","type":"t","data":${big}},
      {"specversion":"1.0","id":"2","source":"/s","type":"t"},
      {"specversion":"1.0","id":"3","source":"/s","type":"t","data":"x\\"]}"}]`;
    const events = decodeHttp({ 'content-type': 'application/cloudevents-batch+json' }, body);
    expect(events.map((e) => encodeHttpBinary(e).body.toString())).toEqual([big, '', '"x\\"]}"']);
  });

  it('an event without time gets none', () => {
    const binary = decodeHttpEvent(
      { 'ce-specversion': '1.0', 'ce-id': 'x', 'ce-source': '/s', 'ce-type': 't' },
      '',
    );
    expect(binary.time).toBeUndefined();
    expect(encodeHttpBinary(binary).headers['ce-time']).toBeUndefined();
    const structured = decodeHttpEvent(
      { 'content-type': 'application/cloudevents+json' },
      '{"specversion":"1.0","id":"x","source":"/s","type":"t"}',
    );
    expect(structured.time).toBeUndefined();
  });
});
