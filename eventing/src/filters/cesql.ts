import { compileCesqlPredicate } from '../cesql/index.js';
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
  const res = compileCesqlPredicate(expression);
  if (res.ok) return res;
  return { ok: false, error: res.excerpt === undefined ? res.message : `${res.message}\n${res.excerpt}` };
}
