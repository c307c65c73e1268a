// The function runtime's metric vocabulary (docs/METRICS.md), exported as
// `@tributary/function-runtime/metrics`: the names, types and labels host.ts registers (metric-names.test.ts
// checks they agree).
import { metric } from '@tributary/shared';

export const FUNCTION_METRICS = {
  /** By outcome: ok, reply, rejected, error, invalid. */
  invocations: metric('function_invocations_total', 'counter', ['function', 'outcome']),
  execution: metric('function_execution_seconds', 'histogram', ['function', 'outcome']),
  inFlight: metric('function_in_flight', 'gauge', ['function']),
  coldStart: metric('function_cold_start_seconds', 'gauge', ['function']),
} as const;
