// fast-check generators of hostile HTTP requests: broken and deep JSON, wrong content types, huge and many
// headers, invalid CloudEvent attributes, path and SQL tricks, NUL and invalid UTF-8.
import fc from 'fast-check';

/** Percent-encodes like encodeURIComponent; a lone surrogate (which it refuses) becomes a bare %uD800. */
export function enc(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return escape(s);
  }
}

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer | string | undefined;
  /** Send these bytes on a raw socket instead (malformed HTTP that no client library would write). */
  raw?: Buffer | undefined;
}

/** Strings an attacker tries: NUL, lone surrogates, SQL and path tricks, 10,000-character values. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '\u0000',
      'a\u0000b',
      '../../etc/passwd',
      '..%2F..',
      "'; DROP TABLE tributary_broker.brokers;--",
      "' OR 1=1 --",
      '%00',
      '%2e%2e%2f',
      '\uD800',
      '\uFFFF',
      '\u202Eevil',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4shell probe, literally
      '${jndi:ldap://x/a}',
      '<script>alert(1)</script>',
      '9223372036854775808',
      '-1',
      '1e309',
      'NaN',
      '\r\nX-Injected: 1',
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 300, max: 12_000 }).map((n) => 'k'.repeat(n)) },
);

/** JSON nested past any limit (257 to 30,000 levels). */
export const deepJson: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 257, max: 30_000 }), fc.boolean())
  .map(([depth, arrays]) =>
    arrays ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
  );

export const brokenJson: fc.Arbitrary<string> = fc.constantFrom(
  '{',
  '{"a":',
  '[1,2',
  '{"specversion":"1.0",}',
  'nul',
  '{"a":1}}',
  '\u0000{}',
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"a":"\\ud800"}',
  '{"a":"\\u0000"}',
  '1e999999',
  '"just a string"',
  '[]',
  'null',
);

/** A CloudEvent in the JSON format with hostile attribute values (or none at all). */
export const cloudEventObject: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    fc.record(
      {
        specversion: fc.oneof(fc.constant('1.0'), fc.constant('0.3'), hostileString),
        id: fc.oneof(fc.constant('fuzz-1'), hostileString),
        source: fc.oneof(fc.constant('/fuzz'), hostileString),
        type: fc.oneof(
          fc.constant('com.example.fuzz'),
          fc.constant('dev.tributary.auth.email.requested'),
          fc.constant('dev.tributary.storage.object.created'),
          hostileString,
        ),
        subject: hostileString,
        time: fc.oneof(fc.constant('2026-01-01T00:00:00Z'), hostileString),
        datacontenttype: fc.constantFrom('application/json', 'text/plain', 'application/xml', 'x/y'),
        data: fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.constant({ total: 1 })),
        data_base64: fc.oneof(fc.constant('AAEC'), hostileString),
        knativebrokerttl: fc.oneof(fc.integer(), hostileString),
      },
      { requiredKeys: [] },
    ),
    fc.dictionary(hostileString, hostileString, { maxKeys: 4 }),
  )
  .map(([base, ext]) => ({ ...ext, ...base }));

export const contentType: fc.Arbitrary<string> = fc.constantFrom(
  'application/json',
  'application/cloudevents+json',
  'application/cloudevents+json; charset=utf-8',
  'application/cloudevents-batch+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/json; charset=latin1',
  'application/cloudevents+json; charset=utf-16',
  '*/*',
  'application/',
  ';;;',
);

/** Bodies: broken, deep, hostile events, batches, raw bytes (invalid UTF-8), now and then over 1 MiB. */
export function bodyFor(valid: fc.Arbitrary<unknown>): fc.Arbitrary<Buffer | string> {
  return fc.oneof(
    { weight: 3, arbitrary: valid.map((v) => JSON.stringify(v)) },
    { weight: 3, arbitrary: cloudEventObject.map((e) => JSON.stringify(e)) },
    { weight: 1, arbitrary: fc.array(cloudEventObject, { maxLength: 4 }).map((a) => JSON.stringify(a)) },
    { weight: 2, arbitrary: deepJson },
    { weight: 2, arbitrary: brokenJson },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        Buffer.from([0xff, 0xfe, 0x7b, 0x22, 0xc3, 0x28, 0x7d]),
        Buffer.from('{"a":"\xc3\x28"}', 'latin1'),
      ),
    },
    { weight: 1, arbitrary: fc.integer({ min: 1_100_000, max: 2_200_000 }).map((n) => `"${'x'.repeat(n)}"`) },
  );
}

/** `ce-*` binary-mode headers with hostile values (a value undici refuses is sent on a raw socket). */
const headerString = hostileString.map((s) => s.slice(0, 2000));

export const ceHeaders: fc.Arbitrary<Record<string, string>> = fc.record(
  {
    'ce-specversion': fc.oneof(fc.constant('1.0'), headerString),
    'ce-id': fc.oneof(fc.constant('fuzz-2'), headerString),
    'ce-source': fc.oneof(fc.constant('/fuzz'), headerString),
    'ce-type': fc.oneof(fc.constant('com.example.fuzz'), headerString),
    'ce-time': headerString,
    'ce-knativebrokerttl': headerString,
    'ce-Invalid_Name!': headerString,
  },
  { requiredKeys: [] },
);

/** Many headers (up to 400) or one huge one (up to 80 KB). */
export const headerFlood: fc.Arbitrary<Record<string, string>> = fc.oneof(
  fc
    .integer({ min: 50, max: 400 })
    .map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, 'v']))),
  fc.integer({ min: 8_000, max: 80_000 }).map((n) => ({ 'x-huge': 'h'.repeat(n) })),
);

/** Malformed HTTP written straight to the socket. */
export function rawRequests(path: string): fc.Arbitrary<Buffer> {
  return fc.oneof(
    fc
      .constantFrom(
        `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Bad: a\u0000b\r\nContent-Length: 2\r\n\r\n{}`,
        `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`,
        `POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`,
        `POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n`,
        `POST ${path} HTTP/1.1\r\nHost: x\r\nNoColonHeader\r\n\r\n`,
        `GET ${path}\u0000 HTTP/1.1\r\nHost: x\r\n\r\n`,
        `POST ${path} HTTP/9.9\r\nHost: x\r\n\r\n`,
        `BREW ${path} HTTP/1.1\r\nHost: x\r\n\r\n`,
        `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n`,
        `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n`,
      )
      .map((s) => Buffer.from(s, 'latin1')),
    fc
      .tuple(hostileString, fc.uint8Array({ minLength: 1, maxLength: 64 }))
      .map(([v, bytes]) =>
        Buffer.concat([
          Buffer.from(
            `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nce-id: `,
            'latin1',
          ),
          Buffer.from(v.replace(/[\r\n]/g, ''), 'utf8'),
          Buffer.from([0xff, 0xc3]),
          Buffer.from(bytes).filter((b) => b !== 0x0d && b !== 0x0a),
          Buffer.from('\r\nContent-Length: 2\r\n\r\n{}', 'latin1'),
        ]),
      ),
  );
}

/** A path under `base` with hostile segments, percent-encoded or not. */
export function hostilePath(base: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant(base) },
    {
      weight: 2,
      arbitrary: fc.tuple(hostileString, hostileString).map(([a, b]) => `/${enc(a)}/${enc(b)}`),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        `${base}/../../etc/passwd`,
        `${base}%00`,
        `${base}/%2e%2e/%2e%2e`,
        `//${base}`,
        `${base}?${'a=1&'.repeat(2000)}`,
        `/${'a'.repeat(5000)}`,
        `${base}/%ff%fe`,
        `${base};jsessionid=1`,
      ),
    },
  );
}
