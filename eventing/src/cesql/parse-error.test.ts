import { describe, expect, it } from '@jest/globals';
import { CesqlParseError, compileCesql } from './index.js';

function parseError(expression: string): CesqlParseError {
  const result = compileCesql(expression);
  if (result.ok) throw new Error(`expected a parse error for ${JSON.stringify(expression)}`);
  return result.error;
}

describe('CESQL parse errors', () => {
  it('locates the offending token with line, column and a caret excerpt', () => {
    const err = parseError('x LIKE 123');
    expect(err).toBeInstanceOf(CesqlParseError);
    expect(err).toBeInstanceOf(Error);
    expect(err.kind).toBe('parse');
    expect(err.line).toBe(1);
    expect(err.column).toBe(8);
    expect(err.offset).toBe(7);
    expect(err.reason).toBe('expected a string literal pattern after LIKE but found integer 123');
    expect(err.message).toBe(`${err.reason} (line 1, column 8)`);
    expect(err.excerpt).toBe('x LIKE 123\n       ^^^');
  });

  it('renders like a compiler diagnostic', () => {
    expect(parseError('x LIKE 123').format()).toBe(
      [
        'cesql:1:8: error: expected a string literal pattern after LIKE but found integer 123',
        ' 1 | x LIKE 123',
        '   |        ^^^',
      ].join('\n'),
    );
  });

  it('points just past the end when the input ends too early', () => {
    const err = parseError('ABC(');
    expect([err.line, err.column]).toEqual([1, 5]);
    expect(err.reason).toBe('expected an expression but found end of input');
    expect(err.excerpt).toBe('ABC(\n    ^');
  });

  it('reports the line and column on multi-line expressions, excerpting only that line', () => {
    const err = parseError("type = 'a'\n  AND (seq * )\n  OR true");
    expect([err.line, err.column]).toEqual([2, 14]);
    expect(err.excerpt).toBe('  AND (seq * )\n             ^');
  });

  it('underlines a whole unterminated string from its opening quote', () => {
    const err = parseError("source = 'abc");
    expect(err.reason).toBe('unterminated string literal');
    expect(err.excerpt).toBe("source = 'abc\n         ^^^^");
  });

  it.each([
    ['', 'empty expression'],
    ['2147483648', 'integer literal 2147483648 is outside the 32-bit range [-2147483648, 2147483647]'],
    ['-2147483649', 'integer literal -2147483649 is outside the 32-bit range [-2147483648, 2147483647]'],
    ['a ! b', "unexpected character '!' (did you mean '!='?)"],
    ['a # b', "unexpected character '#'"],
    ['my_ext = 1', "'my_ext' is not a valid attribute name (letters and digits only)"],
    ['f2(1)', "'f2' is not a valid function name"],
    ['a NOT b', "expected LIKE or IN after NOT but found 'b'"],
    ['a IN ()', "expected an expression but found ')'"],
    ['a IN 1', "expected '(' to start the IN set but found integer 1"],
    ['EXISTS 1', 'expected an attribute name after EXISTS but found integer 1'],
    ['1 2', 'unexpected integer 2 after a complete expression'],
    ['(1 + 2', "expected ')' but found end of input"],
    ['+a', "expected an integer after '+' but found 'a'"],
  ])('rejects %j: %s', (expression, reason) => {
    expect(parseError(expression).reason).toBe(reason);
  });

  it('accepts the extreme 32-bit integer literals', () => {
    for (const expression of ['2147483647', '-2147483648', '+5']) {
      expect(compileCesql(expression).ok).toBe(true);
    }
  });

  it('reports absurdly deep nesting as a parse error instead of throwing', () => {
    const err = parseError(`${'('.repeat(100_000)}1${')'.repeat(100_000)}`);
    expect(err.reason).toBe('expression is nested too deeply');
  });

  it('still compiles long flat chains', () => {
    const chain = Array.from({ length: 500 }, (_, i) => `type = 't${i}'`).join(' OR ');
    const compiled = compileCesql(chain);
    expect(compiled.ok && compiled.expression.evaluate({ type: 't499' })).toEqual({
      value: true,
      errors: [],
    });
  });
});
