import { describe, expect, it } from '@jest/globals';
import { createCloudEvent, decodeHttpEvent, toKafkaMessage } from '@tributary/shared';
import { DEFAULT_TTL, nextTtl, stampReply, ttlExpired } from './ttl.js';

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

describe('stampReply (MT broker filter: the reply gets the delivered TTL minus one)', () => {
  const reply = createCloudEvent({
    type: 'dev.tributary.test',
    source: '/t',
    id: '1',
    partitionkey: 'k',
    data: { a: 1 },
  });

  it('sets the TTL and keeps everything else, adding no knativearrivaltime and no time', () => {
    const bare = decodeHttpEvent(
      { 'ce-specversion': '1.0', 'ce-id': 'r', 'ce-source': '/s', 'ce-type': 't' },
      '',
    );
    const { event: stamped, ttl } = stampReply(bare, 10);
    expect(ttl).toBe(9);
    expect(stamped.time).toBeUndefined();
    expect(stamped.knativearrivaltime).toBeUndefined();
    expect(stamped.knativebrokerttl).toBe(9);
    const record = toKafkaMessage(stampReply(reply, undefined).event);
    expect(record.headers.ce_knativebrokerttl?.toString()).toBe('255'); // no TTL delivered: the default
    expect(record.headers.ce_knativearrivaltime).toBeUndefined();
    expect(reply.knativebrokerttl).toBeUndefined();
  });

  it('reaches 0 after the delivered TTL runs out', () => {
    expect(stampReply(reply, 1).ttl).toBe(0);
    expect(stampReply(reply, '0').ttl).toBe(0);
  });
});

describe('ttlExpired (ingress refuses an event whose TTL ran out)', () => {
  const at = (knativebrokerttl?: unknown) =>
    decodeHttpEvent(
      {
        'ce-specversion': '1.0',
        'ce-id': 'r',
        'ce-source': '/s',
        'ce-type': 't',
        ...(knativebrokerttl === undefined ? {} : { 'ce-knativebrokerttl': String(knativebrokerttl) }),
      },
      '',
    );
  it('only for an integer TTL of 0 or less', () => {
    expect(ttlExpired(at())).toBe(false);
    expect(ttlExpired(at(5))).toBe(false);
    expect(ttlExpired(at(0))).toBe(true);
    expect(ttlExpired(at(-1))).toBe(true);
    expect(ttlExpired(at('x'))).toBe(false);
  });
});
