import { describe, expect, it } from '@jest/globals';
import { decodeHeaderValue, encodeHeaderValue } from './header-value.js';

describe('ce- header value percent-encoding (HTTP binding §3.1.3.2)', () => {
  it('encodes space, %, " and non-ASCII as UTF-8 percent escapes and round-trips', () => {
    const value = 'a b%c"d é€😀';
    const encoded = encodeHeaderValue(value);
    expect(encoded).toBe('a%20b%25c%22d%20%C3%A9%E2%82%AC%F0%9F%98%80');
    expect(encoded).toMatch(/^[\x21-\x7e]+$/);
    expect(decodeHeaderValue(encoded)).toBe(value);
  });

  it("follows the spec's example", () => {
    expect(encodeHeaderValue('Euro € 😀')).toBe('Euro%20%E2%82%AC%20%F0%9F%98%80');
  });

  it('leaves printable ASCII untouched', () => {
    expect(encodeHeaderValue('/db/app/public/users')).toBe('/db/app/public/users');
    expect(decodeHeaderValue('/db/app/public/users')).toBe('/db/app/public/users');
  });

  it('accepts lower-case hex and unnecessary escapes', () => {
    expect(decodeHeaderValue('%c3%a9%41')).toBe('éA');
  });

  it('undoes quoted-string escaping before percent-decoding', () => {
    expect(decodeHeaderValue('"a \\"quoted\\" value%21"')).toBe('a "quoted" value!');
  });

  it('decodes raw UTF-8 bytes that Node hands over as latin1', () => {
    const latin1 = Buffer.from('héllo', 'utf8').toString('latin1');
    expect(decodeHeaderValue(latin1)).toBe('héllo');
  });

  it('rejects invalid UTF-8 (overlong encoding) and broken escapes', () => {
    expect(() => decodeHeaderValue('%C0%A0')).toThrow('not valid UTF-8');
    expect(() => decodeHeaderValue('abc%2')).toThrow('invalid percent-encoding');
    expect(() => decodeHeaderValue('%zz')).toThrow('invalid percent-encoding');
    expect(() => decodeHeaderValue('"unterminated')).toThrow('unterminated quoted string');
  });
});
