// CESQL as a filter dialect (spec 1.2): an event passes only when the expression evaluates to the
// Boolean `true` without any error. Compile once (per Trigger), then call the predicate per event.
import type { CompiledCesql } from './compile.js';
import type { CesqlEvent } from './values.js';

/** A predicate for `compiled`, e.g. for a Trigger's `cesql` filter or `tributary tail --filter`. */
export function cesqlFilter(compiled: CompiledCesql): (event: CesqlEvent) => boolean {
  return (event) => compiled.test(event);
}

/** Whether `event` passes `compiled` used as a filter: boolean `true` and no errors. */
export function matchesCesql(compiled: CompiledCesql, event: CesqlEvent): boolean {
  return compiled.test(event);
}
