import { describe, expect, it } from '@jest/globals';
import { CloudEvent } from 'cloudevents';
import { type CompiledCesql, cesqlFilter, compileCesql, compileCesqlPredicate } from './index.js';

function compile(expression: string): CompiledCesql {
  const result = compileCesql(expression);
  if (!result.ok) throw result.error;
  return result.expression;
}

const event = {
  specversion: '1.0',
  id: 'e1',
  source: '/db/main',
  type: 'dev.tributary.db.insert',
  table: 'users',
};

describe('CESQL filter helpers', () => {
  it('pass an event when the result is boolean true without errors', () => {
    const compiled = compile("type LIKE 'dev.tributary.db.%' AND table = 'users'");
    expect(cesqlFilter(compiled)(event)).toBe(true);
    expect(cesqlFilter(compiled)({ ...event, table: 'orders' })).toBe(false);
  });

  it.each([
    ["'true'", 'a String result'],
    ['1', 'an Integer result'],
    ['type', 'a String attribute'],
  ])('reject %s (%s), which is not a Boolean', (expression) => {
    const compiled = compile(expression);
    expect(compiled.evaluate(event).errors).toEqual([]);
    expect(cesqlFilter(compiled)(event)).toBe(false);
  });

  it('reject a true result that comes with an error', () => {
    // `NOT 10`: the implicit cast of 10 fails, yielding false, so the value is true plus a CastError.
    const compiled = compile('NOT 10');
    expect(compiled.evaluate(event)).toEqual({
      value: true,
      errors: [expect.objectContaining({ kind: 'cast' })],
    });
    expect(cesqlFilter(compiled)(event)).toBe(false);
  });

  it('reject events missing an addressed attribute, and do not leak errors into the next event', () => {
    const compiled = compile("myext = 'x' OR type = 'dev.tributary.db.insert'");
    const filter = cesqlFilter(compiled);
    expect(filter(event)).toBe(false); // myext is missing: MissingAttributeError
    expect(filter({ ...event, myext: 'y' })).toBe(true);
    expect(filter({ ...event, myext: 'x' })).toBe(true);
  });

  // Regression (issue 17, difference 11): sdk-go's IS_INT / IS_BOOL, which Knative Triggers may use.
  it.each([
    ["IS_INT('42')", true],
    ["IS_INT('+7')", true],
    ["IS_INT('4.2')", false],
    ["IS_INT('2147483648')", false],
    ['IS_INT(TRUE)', true],
    ["IS_BOOL('TRUE')", true],
    ["IS_BOOL('yes')", false],
    ['IS_BOOL(0)', true],
    ['is_int(table)', false],
  ])('%s is %s, as in sdk-go', (expression, expected) => {
    const compiled = compile(expression);
    expect(compiled.warnings).toEqual([]);
    expect(compiled.evaluate(event)).toEqual({ value: expected, errors: [] });
  });

  it('refuse IS_STRING, which sdk-go does not define either, naming the difference', () => {
    const compiled = compile('IS_STRING(type)');
    expect(compiled.warnings[0]?.message).toMatch(/IS_STRING: neither the CESQL spec nor sdk-go/);
  });

  it('reject on a missing function', () => {
    const compiled = compile('NOPE(type)');
    expect(compiled.warnings).toEqual([{ kind: 'missingFunction', message: 'unknown function NOPE' }]);
    expect(cesqlFilter(compiled)(event)).toBe(false);
  });

  it('accept a CloudEvent instance of the SDK, extensions included', () => {
    const ce = new CloudEvent({ ...event, seq: 7, replayed: false, data: { id: 1 } });
    expect(cesqlFilter(compile("table = 'users' AND seq > 5 AND NOT replayed"))(ce)).toBe(true);
    expect(cesqlFilter(compile('EXISTS time AND NOT EXISTS subject'))(ce)).toBe(true);
    // data is not a context attribute; SDK methods are not attributes either
    expect(cesqlFilter(compile('EXISTS data OR EXISTS validate'))(ce)).toBe(false);
  });

  it('compileCesqlPredicate refuses syntax errors (with carets), unknown functions and non-boolean types', () => {
    const syntax = compileCesqlPredicate("type = 'a");
    expect(syntax).toMatchObject({ ok: false, excerpt: expect.stringContaining('^') });
    expect(compileCesqlPredicate('NOPE(type)')).toEqual({
      ok: false,
      message: 'unknown function NOPE',
      line: 1,
      column: 1,
    });
    expect(compileCesqlPredicate("'x'")).toMatchObject({
      ok: false,
      message: expect.stringMatching(/type string/),
    });
    // A tail may show what a string expression selects (nothing): only Triggers need a boolean.
    const lenient = compileCesqlPredicate("'x'", { booleanOnly: false });
    expect(lenient.ok && lenient.predicate(event)).toBe(false);
    const ok = compileCesqlPredicate("table = 'users'");
    expect(ok.ok && ok.predicate(event)).toBe(true);
  });

  it('evaluate returns a fresh error list per call', () => {
    const compiled = compile('missing = 1');
    const first = compiled.evaluate(event);
    const second = compiled.evaluate(event);
    expect(first.errors).toHaveLength(1);
    expect(second.errors).toHaveLength(1);
    expect(first.errors).not.toBe(second.errors);
  });
});
