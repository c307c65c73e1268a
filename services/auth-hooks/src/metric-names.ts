// auth-hooks' metric vocabulary (docs/METRICS.md), exported as `@tributary/auth-hooks/metrics`: the names,
// types and labels metrics.ts registers (metric-names.test.ts checks they agree).
import { metric } from '@tributary/shared';

export const AUTH_HOOKS_METRICS = {
  /** By hook and outcome: ok, rejected, unauthorized, invalid, unavailable, error. */
  calls: metric('auth_hooks_calls_total', 'counter', ['hook', 'outcome']),
  duration: metric('auth_hooks_duration_seconds', 'histogram', ['hook']),
  signatureFailures: metric('auth_hooks_signature_failures_total', 'counter', ['reason']),
  /** By hook and outcome: published, failed, dropped. */
  events: metric('auth_hooks_events_total', 'counter', ['hook', 'outcome']),
  policyErrors: metric('auth_hooks_policy_errors_total', 'counter', ['policy']),
} as const;
