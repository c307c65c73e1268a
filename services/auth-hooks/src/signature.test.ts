import { describe, expect, it } from '@jest/globals';
import { Webhook } from 'standardwebhooks';
import { ReplayCache } from './replay-cache.js';
import { HookVerifier, normaliseSignatureHeader, parseSecrets, type SignatureError } from './signature.js';
import { newSecret, signedHeaders } from './testing/fixtures.js';

describe('parseSecrets', () => {
  it('reads several v1,whsec_ secrets separated by |, and a bare whsec_', () => {
    const a = newSecret();
    const b = newSecret();
    expect(parseSecrets(`${a}|${b}`)).toHaveLength(2);
    expect(parseSecrets(` ${a} | ${b.slice(3)} |`)).toHaveLength(2);
  });

  it('names the bad entry', () => {
    expect(() => parseSecrets('')).toThrow(/at least one secret/);
    expect(() => parseSecrets(`${newSecret()}|v1,abc`)).toThrow(/secret #2: expected the form v1,whsec_/);
    expect(() => parseSecrets('v1,whsec_!!!')).toThrow(/secret #1: the part after whsec_ is not base64/);
    expect(() => parseSecrets('v1a,whsec_AAAA')).toThrow(/secret #1/);
  });
});

describe('normaliseSignatureHeader', () => {
  it('keeps every v1 signature whatever the separator, and drops other versions', () => {
    expect(normaliseSignatureHeader('v1,AAA=, v1,BBB')).toBe('v1,AAA= v1,BBB');
    expect(normaliseSignatureHeader('v1,AAA=,v1,BBB')).toBe('v1,AAA= v1,BBB');
    expect(normaliseSignatureHeader('v1a,XXX v1,C+/=')).toBe('v1,C+/=');
    expect(normaliseSignatureHeader('nonsense')).toBe('');
  });

  it('is needed: the package alone checks only the first of ","-joined signatures', () => {
    const good = newSecret();
    const body = '{"a":1}';
    const headers = signedHeaders([newSecret(), good], body, { joiner: ',' });
    const wh = new Webhook(good.slice(3));
    expect(() => wh.verify(body, headers)).toThrow(/No matching signature/);
    const verifier = new HookVerifier(parseSecrets(good), { replayCacheSize: 10 });
    expect(verifier.verify(Buffer.from(body), headers)).toEqual({ a: 1 });
  });
});

describe('HookVerifier', () => {
  it('checks the tolerance boundary (5 minutes either way) against its clock', () => {
    const secret = newSecret();
    const body = '{}';
    const now = 1_700_000_000;
    const verifier = new HookVerifier(parseSecrets(secret), { replayCacheSize: 10, now: () => now * 1000 });
    const reason = (ts: number) => {
      try {
        verifier.verify(Buffer.from(body), signedHeaders([secret], body, { timestamp: ts }));
        return 'ok';
      } catch (err) {
        return (err as SignatureError).reason;
      }
    };
    expect(reason(now - 301)).toBe('stale_timestamp');
    expect(reason(now + 301)).toBe('future_timestamp');
  });
});

describe('ReplayCache', () => {
  it('remembers ids until they expire and never holds more than its bound', () => {
    let now = 0;
    const cache = new ReplayCache(3, () => now);
    expect(cache.checkAndRemember('a', 100)).toBe(false);
    expect(cache.checkAndRemember('a', 100)).toBe(true);
    for (const id of ['b', 'c', 'd', 'e']) cache.checkAndRemember(id, 100);
    expect(cache.size).toBe(3);
    expect(cache.checkAndRemember('a', 100)).toBe(false); // evicted as the oldest
    now = 200;
    expect(cache.checkAndRemember('e', 300)).toBe(false); // expired, so accepted again
  });
});
