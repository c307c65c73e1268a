import { compileCesql } from '../cesql/index.js';
import type { EventAttributes } from './attributes.js';

/** Adapter between the Trigger `cesql` dialect and the CESQL engine in `../cesql`. */
export type CesqlCompileResult =
  | { ok: true; predicate: (event: EventAttributes) => boolean }
  | { ok: false; error: string };

/**
 * Compiles a `cesql` filter once. Rejected at load time: syntax errors (with the caret excerpt), calls
 * to unknown functions, and expressions whose type can never be the boolean `true`.
 */
export function compileCesqlFilter(expression: string): CesqlCompileResult {
  const res = compileCesql(expression);
  if (!res.ok) return { ok: false, error: `${res.error.message}\n${res.error.excerpt}` };
  const compiled = res.expression;
  const warning = compiled.warnings[0];
  if (warning) return { ok: false, error: warning.message };
  if (compiled.resultType === 'string' || compiled.resultType === 'integer') {
    return { ok: false, error: `the expression is of type ${compiled.resultType}; a filter needs a boolean` };
  }
  return { ok: true, predicate: (event) => compiled.test(event as Readonly<Record<string, unknown>>) };
}
