import { describe, expect, it } from '@jest/globals';
import { CloudEventDecodeError } from './errors.js';
import { createCloudEvent } from './event.js';
import { encodeHttpStructured } from './http.js';
import { fromKafkaMessage, toKafkaMessage } from './kafka.js';

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

  it('round-trips binary data and restores partitionkey from the key when the header is missing', () => {
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
    const { ce_partitionkey: _drop, ...headers } = record.headers;
    const back = fromKafkaMessage({ key: Buffer.from('tenant-7'), value: record.value, headers });
    expect(back.partitionkey).toBe('tenant-7');
    expect((back.data as Buffer).equals(bytes)).toBe(true);
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
