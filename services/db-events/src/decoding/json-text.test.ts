/**
 * json-text.ts writes, from a value's text bytes, exactly the JSON that `JSON.stringify(converter(text))` gives
 * (values.ts): every type's fast path and every way out of it to the general path.
 */
import { describe, expect, it } from '@jest/globals';
import { isJsNumberForm, JsonOut, jsonTextWriter } from './json-text.js';
import { isTextForm, TypeRegistry } from './values.js';

const types = new TypeRegistry();
types.learn(70_001, 'mood');
types.learn(70_002, '_mood');

/** The JSON json-text.ts writes for `text` (or bytes) as a value of type `oid`. */
function written(oid: number, text: string | Buffer): string {
  const convert = types.converter(oid);
  const out = new JsonOut(64);
  const src = typeof text === 'string' ? Buffer.from(text) : text;
  // Somewhere in the middle of a buffer, as in a chunk.
  const padded = Buffer.concat([Buffer.from('xx\t'), src, Buffer.from('\tyy')]);
  out.bytes(Buffer.from('['));
  jsonTextWriter(oid, convert, isTextForm(convert))(out, padded, 3, 3 + src.length);
  out.bytes(Buffer.from(']'));
  return out.take().toString();
}

const expected = (oid: number, text: string): string => `[${JSON.stringify(types.converter(oid)(text))}]`;

const SAMPLES: Record<string, [number, string[]]> = {
  bool: [16, ['t', 'f']],
  int2: [21, ['0', '-32768', '32767']],
  int4: [23, ['0', '-2147483648', '2147483647', '42']],
  int8: [20, ['9007199254740993', '-1', '0']],
  numeric: [
    1700,
    ['12.50', 'NaN', 'Infinity', '-Infinity', '-0.000001', '1e-10', '123456789012345678901234567890.5'],
  ],
  float8: [701, ['0.1', 'NaN', 'Infinity', '-Infinity', '1e+20', '5e-324', '-0', '1.7976931348623157e+308']],
  float4: [700, ['0.1', '3.4e+38', 'NaN']],
  text: [
    25,
    [
      '',
      ' ',
      'plain',
      'quote " back \\ slash / solidus',
      'tab\tnl\ncr\rbs\bff\fvt\v',
      'ctl \u0000\u0001\u001f\u007f\u0080\u009f',
      'ünïcödé 日本 😀 \u2028\u2029',
      '\\N',
    ],
  ],
  varchar: [1043, ['v', 'é"']],
  uuid: [2950, ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11']],
  interval: [1186, ['1 day 02:03:04']],
  enum: [70_001, ['ok', 'sad"\\']],
  timestamptz: [
    1184,
    [
      '2024-01-02 03:04:05+00',
      '2024-01-02 03:04:05.1+00',
      '2024-01-02 03:04:05.123456+00',
      '0001-01-01 00:00:00+00',
      '0001-01-01 00:00:00+00 BC',
      '2024-01-02 03:04:05.5+00 BC',
      '12024-01-02 03:04:05+00',
      '2024-01-02 03:04:05+05:30',
      '2024-01-02 03:04:05-08',
      '2024-01-02 03:04:05+00:00:10',
      'infinity',
      '-infinity',
    ],
  ],
  timestamp: [
    1114,
    [
      '2024-01-02 03:04:05',
      '2024-01-02 03:04:05.000001',
      '2024-01-02 03:04:05.1',
      '0044-03-15 12:00:00 BC',
      '0044-03-15 12:00:00.25 BC',
      '294276-12-31 23:59:59.999999',
      'infinity',
      '-infinity',
    ],
  ],
  date: [1082, ['2024-02-29', '0044-03-15 BC', '12024-01-01', 'infinity', '-infinity']],
  jsonb: [
    3802,
    [
      // As Postgres prints jsonb: keys sorted and unique, `, ` and `: `.
      '{"tags": ["a", "b"], "tier": 3}',
      '{"a": {"b": [1, 2.5, -3, 0, 0.5, 123456789012345, 0.000001]}}',
      '{"": "", "s": "q\\"uote \\\\ \\n \\t \\r \\b \\f \\u0001 \\u001f é 😀 \u2028"}',
      '[]',
      '{}',
      '"just a string"',
      '42',
      '-7.25',
      'true',
      'null',
      // Numbers JS prints another way: the general path.
      '{"n": 1.50}',
      '{"big": 123456789012345678901}',
      '[9007199254740993]',
      '{"tiny": 0.0000001}',
      '{"neg": -0}',
      '[-0.0]',
      '{"x": 1e400}',
      '[1e2, 1E-2]',
      '[1234567890123456]',
      // Keys a JS object would move first: the general path.
      '{"1": "first", "b": [true, false, null], "10": {}}',
      '{"0": 1}',
      // Escapes JSON.stringify would not write: the general path.
      '{"e": "\\u00e9 \\/ \\u001F \\u000a"}',
    ],
  ],
  json: [114, ['{"b": 1, "a": [1.0, "x\\ty"], "b": 2}', ' [1 , 2] ']],
  bytea: [17, ['\\x0a0b', '\\x', '\\000\\\\a']],
  'text[]': [1009, ['{a,"b c",NULL,"q\\"x","back\\\\slash"}', '{}', '{{a,b},{c,d}}']],
  'int4[]': [1007, ['{{1,2},{3,NULL}}', '[0:1]={7,8}']],
  'timestamptz[]': [1185, ['{"2024-01-02 03:04:05+00",NULL}']],
  'mood[]': [70_002, ['{ok,"sad\\"\\\\"}']],
};

describe('jsonTextWriter', () => {
  for (const [name, [oid, samples]] of Object.entries(SAMPLES)) {
    it(`writes ${name} as JSON.stringify of its converter`, () => {
      for (const t of samples) expect([t, written(oid, t)]).toEqual([t, expected(oid, t)]);
    });
  }

  it('writes text that is not UTF-8 as node-postgres decodes it (replacement characters)', () => {
    const bad = Buffer.from([0x61, 0xff, 0xc3, 0x28, 0x62, 0xed, 0xa0, 0x80]);
    for (const oid of [25, 1043, 70_001]) {
      expect(written(oid, bad)).toBe(`[${JSON.stringify(bad.toString('utf8'))}]`);
    }
    const jsonb = Buffer.concat([Buffer.from('{"s": "'), bad, Buffer.from('"}')]);
    expect(written(3802, jsonb)).toBe(`[${JSON.stringify(JSON.parse(jsonb.toString('utf8')))}]`);
  });

  it('writes jsonb with whitespace removed, as JSON.stringify(JSON.parse(text)) for any jsonb Postgres prints', () => {
    const text = '{"a": [1, {"b": "c d"}], "e": null}';
    expect(written(3802, text)).toBe('[{"a":[1,{"b":"c d"}],"e":null}]');
  });
});

describe('isJsNumberForm', () => {
  const form = (t: string): boolean => isJsNumberForm(Buffer.from(t), 0, t.length);

  it('accepts the numbers JS prints as they are, up to 15 digits', () => {
    for (const t of ['0', '-1', '42', '0.5', '-2.25', '123456789012345', '0.000001', '1.5'])
      expect([t, form(t)]).toEqual([t, true]);
    // Either printed otherwise by JS, or not worth telling apart (more than 15 digits).
    const others = [
      '-0',
      '1.50',
      '1.0',
      '01',
      '1e2',
      '1E2',
      '0.0000001',
      '1234567890123456',
      '9007199254740993',
    ];
    for (const t of [...others, '100000000000000000000', '.5', '5.', '-', ''])
      expect([t, form(t)]).toEqual([t, false]);
  });

  it('never accepts a number JS would print another way (random decimals)', () => {
    let seed = 42;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const digits = (n: number) => Array.from({ length: n }, () => String(rnd(10))).join('');
      const int = rnd(4) === 0 ? '0' : String(1 + rnd(9)) + digits(rnd(18));
      const frac = rnd(2) === 0 ? '' : `.${'0'.repeat(rnd(8))}${digits(1 + rnd(10))}`;
      const t = `${rnd(3) === 0 ? '-' : ''}${int}${frac}`;
      if (form(t)) {
        accepted++;
        expect([t, String(Number(t))]).toEqual([t, t]);
      }
    }
    expect(accepted).toBeGreaterThan(5_000);
  });
});

describe('JsonOut', () => {
  it('moves a value that does not fit to a new block, and hands out views of its bytes', () => {
    const out = new JsonOut(16);
    const views: Buffer[] = [];
    const text = jsonTextWriter(25, types.converter(25), true);
    for (let i = 0; i < 50; i++) {
      out.bytes(Buffer.from('{"v":'));
      const v = Buffer.from(`value ${i} "${'x'.repeat(i)}"`);
      text(out, v, 0, v.length);
      out.bytes(Buffer.from('}'));
      views.push(out.take());
    }
    views.forEach((b, i) => {
      expect(JSON.parse(b.toString())).toEqual({ v: `value ${i} "${'x'.repeat(i)}"` });
    });
  });
});

describe('text written by runs (four bytes a step)', () => {
  it('escapes a byte that needs it at every position of a run, and checks UTF-8 after non-ASCII', () => {
    const specials = ['"', '\\', '\u0000', '\u0001', '\n', '\u001f', '\u007f', 'é', '😀'];
    for (const special of specials)
      for (let at = 0; at < 13; at++)
        for (const length of [at + 1, at + 4, at + 70]) {
          const text = `${'a'.repeat(at)}${special}${'b'.repeat(length - at - 1)}`;
          expect(written(25, text)).toBe(expected(25, text));
        }
    // Not UTF-8 after a run: the general path (replacement characters), as node-postgres decodes it.
    const bad = Buffer.concat([Buffer.from('a'.repeat(9)), Buffer.from([0xff, 0x22, 0x5c])]);
    expect(written(25, bad)).toBe(expected(25, bad.toString('utf8')));
  });
});
