/**
 * Percent-encoding of `ce-` HTTP header values, HTTP protocol binding §3.1.3.2: space, `"`, `%` and every
 * character outside printable ASCII (U+0021-U+007E) are written as `%XY` of their UTF-8 bytes (upper case);
 * decoding first undoes RFC 7230 quoted-string escaping, then does one round of percent-decoding, and rejects
 * byte sequences that are not valid UTF-8 (e.g. the overlong `%C0%A0`).
 */

// Printable ASCII minus `"` (0x22) and `%` (0x25): the characters written as they are.
const NEEDS_ENCODING = /[^\x21\x23\x24\x26-\x7e]/;
const HEX = '0123456789ABCDEF';
const utf8Fatal = new TextDecoder('utf-8', { fatal: true });

export function encodeHeaderValue(value: string): string {
  if (!NEEDS_ENCODING.test(value)) return value;
  let out = '';
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0x21 && cp <= 0x7e && cp !== 0x22 && cp !== 0x25) {
      out += ch;
      continue;
    }
    for (const byte of Buffer.from(ch, 'utf8')) out += `%${HEX[byte >> 4]}${HEX[byte & 0xf]}`;
  }
  return out;
}

/** Thrown by `decodeHeaderValue`; the caller adds the header name. */
export class HeaderValueError extends Error {}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

function unquote(value: string): string {
  // RFC 7230 §3.2.6 quoted-string: DQUOTE *( qdtext / "\" any ) DQUOTE
  if (value.length < 2 || value.charCodeAt(value.length - 1) !== 0x22) {
    throw new HeaderValueError('unterminated quoted string');
  }
  let out = '';
  for (let i = 1; i < value.length - 1; i++) {
    const c = value[i]!;
    if (c === '\\') {
      i++;
      if (i >= value.length - 1) throw new HeaderValueError('dangling backslash in quoted string');
      out += value[i];
    } else if (c === '"') {
      throw new HeaderValueError('unescaped double quote inside quoted string');
    } else {
      out += c;
    }
  }
  return out;
}

export function decodeHeaderValue(raw: string): string {
  let value = raw.trim();
  if (value.charCodeAt(0) === 0x22) value = unquote(value);
  let plain = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25 || c > 0x7e) {
      plain = false;
      break;
    }
  }
  if (plain) return value;
  // Node hands header bytes over as latin1 characters; a raw UTF-8 value (sent unencoded) is decoded too.
  let wide = false;
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) > 0xff) {
      wide = true;
      break;
    }
  }
  const input = Buffer.from(value, wide ? 'utf8' : 'latin1');
  const bytes = Buffer.allocUnsafe(input.length);
  let n = 0;
  for (let i = 0; i < input.length; i++) {
    const b = input[i]!;
    if (b !== 0x25) {
      bytes[n++] = b;
      continue;
    }
    const hi = i + 1 < input.length ? hexValue(input[i + 1]!) : -1;
    const lo = i + 2 < input.length ? hexValue(input[i + 2]!) : -1;
    if (hi < 0 || lo < 0) throw new HeaderValueError(`invalid percent-encoding at position ${i}`);
    bytes[n++] = (hi << 4) | lo;
    i += 2;
  }
  try {
    return utf8Fatal.decode(bytes.subarray(0, n));
  } catch {
    throw new HeaderValueError('percent-encoded bytes are not valid UTF-8');
  }
}
