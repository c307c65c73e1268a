import { Counter, Histogram, type Registry } from 'prom-client';
import { AUTH_HOOKS_METRICS } from './metric-names.js';
import { SIGNATURE_FAILURE_REASONS } from './signature.js';

export interface HookMetrics {
  /** Hook calls by hook and outcome: ok, rejected, unauthorized, invalid, unavailable, error. */
  calls: Counter<'hook' | 'outcome'>;
  /** Time from request to answer, per hook. */
  duration: Histogram<'hook'>;
  /** Signature failures by reason (missing_headers, stale_timestamp, no_matching_signature, replayed, ...). */
  signatureFailures: Counter<'reason'>;
  /** Events by hook and outcome: published, failed, dropped. */
  events: Counter<'hook' | 'outcome'>;
  /** Policy failures (claims query, lockout store) by policy. */
  policyErrors: Counter<'policy'>;
}

export function createMetrics(registry: Registry): HookMetrics {
  const signatureFailures = new Counter({
    name: AUTH_HOOKS_METRICS.signatureFailures.name,
    help: 'Hook requests refused because the Standard Webhooks signature did not verify, by reason',
    labelNames: AUTH_HOOKS_METRICS.signatureFailures.labels,
    registers: [registry],
  });
  for (const reason of SIGNATURE_FAILURE_REASONS) signatureFailures.inc({ reason }, 0);
  return {
    calls: new Counter({
      name: AUTH_HOOKS_METRICS.calls.name,
      help: 'Auth hook calls by hook and outcome',
      labelNames: AUTH_HOOKS_METRICS.calls.labels,
      registers: [registry],
    }),
    duration: new Histogram({
      name: AUTH_HOOKS_METRICS.duration.name,
      help: 'Time to answer an Auth hook call, by hook',
      labelNames: AUTH_HOOKS_METRICS.duration.labels,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers: [registry],
    }),
    signatureFailures,
    events: new Counter({
      name: AUTH_HOOKS_METRICS.events.name,
      help: 'CloudEvents for hook calls by hook and outcome (published, failed, dropped)',
      labelNames: AUTH_HOOKS_METRICS.events.labels,
      registers: [registry],
    }),
    policyErrors: new Counter({
      name: AUTH_HOOKS_METRICS.policyErrors.name,
      help: 'Policy failures (claims query, lockout store) by policy',
      labelNames: AUTH_HOOKS_METRICS.policyErrors.labels,
      registers: [registry],
    }),
  };
}
