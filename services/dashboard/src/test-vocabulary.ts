// Every metric a Tributary service exports, from the constants of the packages that register them (each
// package's own test checks its constants against its registrations). Test-only: the dashboard itself imports
// just the vocabularies it reads (@tributary/eventing, @tributary/db-events/metrics).
import { AUTH_HOOKS_METRICS } from '@tributary/auth-hooks/metrics';
import { DB_EVENTS_METRICS } from '@tributary/db-events/metrics';
import {
  DEAD_LETTER_METRICS,
  INGRESS_METRICS,
  LOG_METRICS,
  SERVING_METRICS,
  TRIGGER_METRICS,
} from '@tributary/eventing';
import { FUNCTION_METRICS } from '@tributary/function-runtime/metrics';
import { type MetricDef, SERVER_METRICS, seriesLabels, seriesNames } from '@tributary/shared';
import { STORAGE_EVENTS_METRICS } from '@tributary/storage-events/metrics';

export interface VocabularyGroup {
  /** The constant, as its package exports it. */
  constant: string;
  /** Where to import it from. */
  from: string;
  /** Who registers these metrics (and so serves them on its /metrics). */
  servedBy: string;
  metrics: readonly MetricDef[];
}

export const TRIBUTARY_VOCABULARY: readonly VocabularyGroup[] = [
  {
    constant: 'INGRESS_METRICS',
    from: '@tributary/eventing',
    servedBy: 'broker (ingress)',
    metrics: Object.values(INGRESS_METRICS),
  },
  {
    constant: 'TRIGGER_METRICS',
    from: '@tributary/eventing',
    servedBy: 'broker (Trigger dispatchers)',
    metrics: Object.values(TRIGGER_METRICS),
  },
  {
    constant: 'LOG_METRICS',
    from: '@tributary/eventing',
    servedBy: 'broker (log backend)',
    metrics: Object.values(LOG_METRICS),
  },
  {
    constant: 'DEAD_LETTER_METRICS',
    from: '@tributary/eventing',
    servedBy: 'dead-letter store (dashboard, or the broker in `tributary dev`)',
    metrics: Object.values(DEAD_LETTER_METRICS),
  },
  {
    constant: 'SERVING_METRICS',
    from: '@tributary/eventing',
    servedBy: 'local activator (`tributary dev`)',
    metrics: Object.values(SERVING_METRICS),
  },
  {
    constant: 'DB_EVENTS_METRICS',
    from: '@tributary/db-events/metrics',
    servedBy: 'db-events',
    metrics: Object.values(DB_EVENTS_METRICS),
  },
  {
    constant: 'STORAGE_EVENTS_METRICS',
    from: '@tributary/storage-events/metrics',
    servedBy: 'storage-events',
    metrics: Object.values(STORAGE_EVENTS_METRICS),
  },
  {
    constant: 'AUTH_HOOKS_METRICS',
    from: '@tributary/auth-hooks/metrics',
    servedBy: 'auth-hooks',
    metrics: Object.values(AUTH_HOOKS_METRICS),
  },
  {
    constant: 'FUNCTION_METRICS',
    from: '@tributary/function-runtime/metrics',
    servedBy: 'every function (runtime host)',
    metrics: Object.values(FUNCTION_METRICS),
  },
  {
    constant: 'SERVER_METRICS',
    from: '@tributary/shared',
    servedBy: 'every service built on createServer',
    metrics: [SERVER_METRICS.httpRequestDuration],
  },
];

/** Series name -> the labels it carries, for every Tributary metric (without target and default labels). */
export function tributarySeries(groups = TRIBUTARY_VOCABULARY): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const g of groups)
    for (const m of g.metrics) for (const s of seriesNames(m)) out.set(s, new Set(seriesLabels(m, s)));
  return out;
}
