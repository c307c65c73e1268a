// Behaviour the TCK does not pin down but this engine documents (see README.md).
import { describe, expect, it } from '@jest/globals';
import { type CesqlEvent, compileCesql } from './index.js';

function evaluate(expression: string, event: CesqlEvent = {}) {
  const result = compileCesql(expression);
  if (!result.ok) throw result.error;
  const { value, errors } = result.expression.evaluate(event);
  return { value, errors: errors.map((e) => e.kind) };
}

const ok = (value: unknown) => ({ value, errors: [] });

describe('CESQL precedence (CESQLParser.g4)', () => {
  it('gives AND, OR and XOR one right-associative level', () => {
    // a AND (b OR c), not (a AND b) OR c
    expect(evaluate('FALSE AND FALSE OR TRUE')).toEqual(ok(false));
    expect(evaluate('(FALSE AND FALSE) OR TRUE')).toEqual(ok(true));
    expect(evaluate('TRUE OR TRUE XOR TRUE')).toEqual(ok(true));
  });

  it('binds NOT tighter than comparisons and LIKE', () => {
    // (NOT 'x') LIKE ... : NOT casts 'x' to Boolean and fails
    expect(evaluate("NOT 'x' = 'y'")).toEqual({ value: false, errors: ['cast'] });
    expect(evaluate("NOT ('x' = 'y')")).toEqual(ok(true));
    expect(evaluate("'x' NOT LIKE 'y'")).toEqual(ok(true));
  });

  it('binds LIKE and IN tighter than arithmetic and comparison', () => {
    expect(evaluate("1 + '2' IN (2)")).toEqual(ok(2)); // 1 + ('2' IN (2)) = 1 + TRUE
    expect(evaluate('2 * 3 + 4 = 10 AND 10 = 4 + 2 * 3')).toEqual(ok(true));
    expect(evaluate('10 - 4 - 3')).toEqual(ok(3)); // left-associative
  });

  it('reads a sign in front of an integer as part of the literal, and 5-3 as a subtraction', () => {
    expect(evaluate('5-3')).toEqual(ok(2));
    expect(evaluate('-2147483648')).toEqual(ok(-2147483648));
    expect(evaluate('- -3')).toEqual(ok(3));
  });
});

describe('CESQL integers', () => {
  it.each([
    ['2147483647 + 1', -2147483648],
    ['-2147483648 - 1', 2147483647],
    ['65536 * 65536', 0],
    ['-2147483648 / -1', -2147483648],
    ['-(-2147483648)', -2147483648],
  ])('wraps %s around to %d and raises a MathError', (expression, value) => {
    expect(evaluate(expression)).toEqual({ value, errors: ['math'] });
  });

  it('truncates division toward zero and gives the remainder the sign of the dividend', () => {
    expect(evaluate('-7 / 2')).toEqual(ok(-3));
    expect(evaluate('-7 % 3')).toEqual(ok(-1));
    expect(evaluate('7 % -3')).toEqual(ok(1));
    expect(evaluate('-6 % 3')).toEqual(ok(0)); // never -0
  });

  it('casts strings to 32-bit integers strictly', () => {
    expect(evaluate("INT('+42')")).toEqual(ok(42));
    expect(evaluate("INT(' 42')")).toEqual({ value: 0, errors: ['cast'] });
    expect(evaluate("INT('2147483648')")).toEqual({ value: 0, errors: ['cast'] });
  });
});

describe('CESQL strings and LIKE', () => {
  it('decodes escaped and doubled quotes, and keeps other backslashes', () => {
    expect(evaluate("'it''s'")).toEqual(ok("it's"));
    expect(evaluate('"say ""hi"""')).toEqual(ok('say "hi"'));
    expect(evaluate("'a\\nb'")).toEqual(ok('a\\nb'));
  });

  it('counts Unicode characters, not UTF-16 units', () => {
    expect(evaluate("LENGTH('a😀b')")).toEqual(ok(3));
    expect(evaluate("SUBSTRING('a😀bc', 2, 2)")).toEqual(ok('😀b'));
    expect(evaluate("RIGHT('a😀', 1)")).toEqual(ok('😀'));
    expect(evaluate("'a😀b' LIKE 'a_b'")).toEqual(ok(true));
    expect(evaluate("'😀😀x' LIKE '%_x'")).toEqual(ok(true));
  });

  it.each([
    ["'abc' LIKE 'abc'", true],
    ["'abc' LIKE 'a%'", true],
    ["'abc' LIKE '%c'", true],
    ["'abc' LIKE '%b%'", true],
    ["'abc' LIKE 'a%c'", true],
    ["'ac' LIKE 'a%%c'", true],
    ["'a' LIKE 'a%a'", false],
    ["'' LIKE '%'", true],
    ["'' LIKE '_'", false],
    ["'a\nb' LIKE 'a_b'", true],
    ["'a.c' LIKE 'a.c'", true],
    ["'abc' LIKE 'a.c'", false],
    ["'a\\b' LIKE 'a\\b'", true],
    ["'x_%y' LIKE '_\\_\\%_'", true],
  ])('%s is %s', (expression, value) => {
    expect(evaluate(expression)).toEqual(ok(value));
  });

  it('matches many-wildcard patterns without exponential backtracking', () => {
    const value = 'a'.repeat(5000);
    expect(evaluate(`x LIKE '%a%a%a%a%a%a%a%a%a%a%b'`, { x: value })).toEqual(ok(false));
    expect(evaluate(`x LIKE '%a%a%a%a%a%a%a%a%a%a%'`, { x: value })).toEqual(ok(true));
  });

  it('trims Unicode white space', () => {
    expect(evaluate("TRIM('\u00a0\u2003 x \u3000')")).toEqual(ok('x'));
  });
});

describe('CESQL attributes', () => {
  it('folds the case of attribute names, keywords and function names', () => {
    expect(evaluate("SUBJECT = 'x' and Lower(Subject) = 'x'", { subject: 'x' })).toEqual(ok(true));
  });

  it('represents non-CESQL values as strings (spec 3.2)', () => {
    const event = {
      big: 2 ** 40,
      frac: 1.5,
      huge: 10n ** 20n,
      small: 12n,
      when: new Date('2024-01-02T03:04:05.678Z'),
      bytes: new Uint8Array([1, 2, 3]),
    };
    expect(evaluate('big', event)).toEqual(ok('1099511627776'));
    expect(evaluate('frac', event)).toEqual(ok('1.5'));
    expect(evaluate('huge', event)).toEqual(ok('100000000000000000000'));
    expect(evaluate('small + 1', event)).toEqual(ok(13));
    expect(evaluate('when', event)).toEqual(ok('2024-01-02T03:04:05.678Z'));
    expect(evaluate('bytes', event)).toEqual(ok('AQID'));
  });

  it('treats null, undefined and data as missing', () => {
    expect(evaluate('a', { a: null })).toEqual({ value: false, errors: ['missingAttribute'] });
    expect(evaluate('EXISTS a', { a: undefined })).toEqual(ok(false));
    expect(evaluate('EXISTS data', { data: 'x' })).toEqual(ok(false));
  });

  it('returns the zero value of the operator whose operand failed, not of the attribute', () => {
    expect(evaluate('LENGTH(x)')).toEqual({ value: 0, errors: ['missingAttribute'] });
    expect(evaluate("CONCAT('a', x)")).toEqual({ value: '', errors: ['missingAttribute'] });
    expect(evaluate("x NOT IN ('a')")).toEqual({ value: false, errors: ['missingAttribute'] });
    expect(evaluate("x NOT LIKE 'a'")).toEqual({ value: false, errors: ['missingAttribute'] });
    expect(evaluate("'a' IN ('b', x)")).toEqual({ value: false, errors: ['missingAttribute'] });
  });

  it('compares attributes of different runtime types by the right operand type', () => {
    const event = { n: 5, s: '5', b: true, t: 'TRUE' };
    expect(evaluate('s = n', event)).toEqual(ok(true));
    expect(evaluate('n = s', event)).toEqual(ok(true));
    expect(evaluate('t = b', event)).toEqual(ok(true));
    expect(evaluate('b = t', event)).toEqual(ok(false)); // 'true' = 'TRUE'
    expect(evaluate("n IN ('4', '5')", event)).toEqual(ok(true));
    expect(evaluate("s IN ('4', '5')", event)).toEqual(ok(true));
    expect(evaluate("b IN ('true')", event)).toEqual(ok(true));
    expect(evaluate("n = '5' AND b = 'true' AND s = '5'", event)).toEqual(ok(true));
    expect(evaluate("n LIKE '5' AND b LIKE 't%' AND s NOT LIKE '6'", event)).toEqual(ok(true));
  });
});
