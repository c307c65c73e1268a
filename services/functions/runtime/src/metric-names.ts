// The function runtime's metric vocabulary (docs/METRICS.md), exported as
// `@tributary/function-runtime/metrics`: the names, types and labels host.ts registers (metric-names.test.ts
// checks they agree).
// Type-only imports: importing these names loads nothing else.
import type { MetricDef } from '@tributary/shared';

export const FUNCTION_METRICS = {
  /** By outcome: ok, reply, rejected, error, invalid. */
  invocations: { name: 'function_invocations_total', type: 'counter', labels: ['function', 'outcome'] },
  execution: { name: 'function_execution_seconds', type: 'histogram', labels: ['function', 'outcome'] },
  inFlight: { name: 'function_in_flight', type: 'gauge', labels: ['function'] },
  coldStart: { name: 'function_cold_start_seconds', type: 'gauge', labels: ['function'] },
} as const satisfies Record<string, MetricDef>;
