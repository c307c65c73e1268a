/**
 * The raw `data` bytes an event carries under RAW_DATA (db-events' read events): sent as they are (binary and
 * structured modes) without reading `data`, and never for a copy of the event, whose `data` may differ.
 */
import { describe, expect, it } from '@jest/globals';
import { CloudEvent } from 'cloudevents';
import { cloudEventIssues, encodeData, RAW_DATA, recalledRawData } from './event.js';
import { toJsonFormat } from './json-format.js';
import { toKafkaMessage } from './kafka.js';
import { KafkaRecordWriter } from './kafka-record.js';

/** An event carrying `raw`, whose `data` getter throws unless `data` is given. */
function readEvent(raw: Buffer, data?: unknown): CloudEvent<unknown> {
  const e = Object.create(CloudEvent.prototype) as Record<string | symbol, unknown>;
  Object.assign(e, {
    id: '1',
    source: '/s',
    type: 't',
    specversion: '1.0',
    datacontenttype: 'application/json',
  });
  Object.defineProperty(e, 'data', {
    enumerable: true,
    get: () => {
      if (data === undefined) throw new Error('data read');
      return data;
    },
  });
  e[RAW_DATA] = raw;
  return Object.freeze(e) as unknown as CloudEvent<unknown>;
}

describe('RAW_DATA', () => {
  it('is not parsed to validate an event with JSON data (db-events publishes such events over HTTP)', () => {
    expect(cloudEventIssues(readEvent(Buffer.from('{}')))).toEqual([]);
  });

  it('is what a frozen event sends, without its data being read', () => {
    const raw = Buffer.from('{"a": 1}');
    const e = readEvent(raw);
    expect(recalledRawData(e)).toBe(raw);
    expect(encodeData(e)).toEqual({ bytes: raw, contentType: 'application/json' });
    expect(toKafkaMessage(e).value).toBe(raw);
    // The Kafka record writer (db-events' sink) too: the raw bytes, never a parse of them.
    const record = new KafkaRecordWriter().write(e).encoded;
    expect(record.includes(raw)).toBe(true);
    expect(JSON.parse(toJsonFormat(e))).toEqual({
      id: '1',
      source: '/s',
      type: 't',
      specversion: '1.0',
      datacontenttype: 'application/json',
      data: { a: 1 },
    });
  });

  it('is not believed on a copy (which is not frozen): the copy sends its own data', () => {
    const e = { ...readEvent(Buffer.from('{"a": 1}'), { a: 1 }), data: { a: 2 } };
    expect(recalledRawData(e)).toBeUndefined();
    expect(encodeData(e)?.bytes.toString()).toBe('{"a":2}');
    expect(JSON.parse(toJsonFormat(e)).data).toEqual({ a: 2 });
  });
});
