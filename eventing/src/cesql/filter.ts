// CESQL as a filter dialect (spec 1.2): an event passes only when the expression evaluates to the
// Boolean `true` without any error. Compile once (per Trigger, per tail), then call the predicate per event.
// The one adapter from the engine to a predicate: Trigger `cesql` filters and `tributary tail --filter` use it.
import { type CompiledCesql, compileCesql } from './compile.js';
import type { CesqlEvent } from './values.js';

/** A predicate for `compiled`: boolean `true` and no errors. Any object's own properties are the attributes. */
export function cesqlFilter(compiled: CompiledCesql): (event: object) => boolean {
  return (event) => compiled.test(event as CesqlEvent);
}

/** Why an expression cannot be a filter: where, and for a syntax error the line with carets. */
export interface CesqlFilterError {
  message: string;
  /** The expression's line with carets under the mistake (syntax errors only). */
  excerpt?: string;
  line: number;
  column: number;
  cause?: unknown;
}

export type CesqlFilterResult =
  | { ok: true; predicate: (event: object) => boolean }
  | ({ ok: false } & CesqlFilterError);

/**
 * Compiles a CESQL expression as a filter. Refused: syntax errors (with the caret excerpt), calls to unknown
 * functions, and with `booleanOnly` (default) expressions whose type can never be the boolean `true`.
 */
export function compileCesqlPredicate(
  expression: string,
  { booleanOnly = true }: { booleanOnly?: boolean } = {},
): CesqlFilterResult {
  const res = compileCesql(expression);
  if (!res.ok) {
    const e = res.error;
    return { ok: false, message: e.message, excerpt: e.excerpt, line: e.line, column: e.column, cause: e };
  }
  const compiled = res.expression;
  const warning = compiled.warnings[0];
  if (warning) return { ok: false, message: warning.message, line: 1, column: 1 };
  if (booleanOnly && (compiled.resultType === 'string' || compiled.resultType === 'integer')) {
    return {
      ok: false,
      message: `the expression is of type ${compiled.resultType}; a filter needs a boolean`,
      line: 1,
      column: 1,
    };
  }
  return { ok: true, predicate: cesqlFilter(compiled) };
}
