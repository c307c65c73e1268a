// auth-hooks' metric vocabulary (docs/METRICS.md), exported as `@tributary/auth-hooks/metrics`: the names,
// types and labels metrics.ts registers (metric-names.test.ts checks they agree).
// Type-only imports: importing these names loads nothing else.
import type { MetricDef } from '@tributary/shared';

export const AUTH_HOOKS_METRICS = {
  /** By hook and outcome: ok, rejected, unauthorized, invalid, unavailable, error. */
  calls: { name: 'auth_hooks_calls_total', type: 'counter', labels: ['hook', 'outcome'] },
  duration: { name: 'auth_hooks_duration_seconds', type: 'histogram', labels: ['hook'] },
  signatureFailures: { name: 'auth_hooks_signature_failures_total', type: 'counter', labels: ['reason'] },
  /** By hook and outcome: published, failed, dropped. */
  events: { name: 'auth_hooks_events_total', type: 'counter', labels: ['hook', 'outcome'] },
  policyErrors: { name: 'auth_hooks_policy_errors_total', type: 'counter', labels: ['policy'] },
} as const satisfies Record<string, MetricDef>;
