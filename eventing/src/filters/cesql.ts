import type { EventAttributes } from './attributes.js';

/** Adapter between the Trigger `cesql` dialect and the CESQL engine in `../cesql`. */
export type CesqlCompileResult =
  | { ok: true; predicate: (event: EventAttributes) => boolean }
  | { ok: false; error: string };

export function compileCesqlFilter(expression: string): CesqlCompileResult {
  return { ok: false, error: `CESQL is not available yet (expression: ${expression})` };
}
