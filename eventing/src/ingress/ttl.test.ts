import { describe, expect, it } from '@jest/globals';
import { createCloudEvent, toKafkaMessage } from '@tributary/shared';
import { DEFAULT_TTL, nextTtl, stampEvent } from './ttl.js';

describe('nextTtl (Knative broker.TTLDefaulter)', () => {
  it('defaults a missing or non-integer TTL to 255', () => {
    expect(nextTtl(undefined)).toBe(DEFAULT_TTL);
    expect(DEFAULT_TTL).toBe(255);
    expect(nextTtl('abc')).toBe(255);
    expect(nextTtl('1.5')).toBe(255);
    expect(nextTtl(2.5)).toBe(255);
    expect(nextTtl('99999999999')).toBe(255);
    expect(nextTtl(undefined, 10)).toBe(10);
  });

  it('decrements an integer TTL, given as a number or as a header string, never below 0', () => {
    expect(nextTtl(255)).toBe(254);
    expect(nextTtl('5')).toBe(4);
    expect(nextTtl(' 7 ')).toBe(6);
    expect(nextTtl(1)).toBe(0);
    expect(nextTtl(0)).toBe(0);
    expect(nextTtl('-4')).toBe(0);
  });
});

describe('stampEvent', () => {
  const event = createCloudEvent({
    type: 'dev.tributary.test',
    source: '/t',
    id: '1',
    partitionkey: 'k',
    data: { a: 1 },
  });

  it('sets knativearrivaltime and the TTL and keeps everything else', () => {
    const now = new Date('2024-01-02T03:04:05.678Z');
    const { event: stamped, ttl } = stampEvent(event, now);
    expect(ttl).toBe(255);
    expect(stamped).toMatchObject({
      id: '1',
      type: 'dev.tributary.test',
      source: '/t',
      partitionkey: 'k',
      data: { a: 1 },
      knativearrivaltime: '2024-01-02T03:04:05.678Z',
      knativebrokerttl: 255,
    });
    expect(event.knativebrokerttl).toBeUndefined();
    const record = toKafkaMessage(stamped);
    expect(record.headers.ce_knativebrokerttl?.toString()).toBe('255');
    expect(record.headers.ce_knativearrivaltime?.toString()).toBe('2024-01-02T03:04:05.678Z');
  });

  it('decrements an existing TTL', () => {
    const again = stampEvent(stampEvent(event, new Date()).event, new Date());
    expect(again.ttl).toBe(254);
  });
});
