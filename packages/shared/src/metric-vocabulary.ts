import type { Registry } from 'prom-client';

/**
 * The metric vocabulary: every package that registers Prometheus metrics exports their names, types and
 * label names as constants (e.g. `TRIGGER_METRICS` in @tributary/eventing, `DB_EVENTS_METRICS` in
 * `@tributary/db-events/metrics`), registers them under those names, and everything that reads them (the
 * dashboard's collector, infra/'s Grafana dashboards and alert rules, docs/METRICS.md) uses the same
 * constants or is checked against them. See docs/METRICS.md.
 */
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

/** One metric as registered with prom-client: its name, type and label names. */
export interface MetricDef<L extends string = string> {
  readonly name: string;
  readonly type: MetricType;
  readonly labels: readonly L[];
}

/** Declares one metric of a vocabulary; the label names keep their literal types (for typed queries). */
export function metric<const L extends string = never>(
  name: string,
  type: MetricType,
  labels: readonly L[] = [],
): MetricDef<L> {
  return { name, type, labels };
}

/** The label names of a metric definition, as a type. */
export type LabelOf<M extends MetricDef> = M['labels'][number];

/**
 * The series names Prometheus stores for a metric (its text exposition): a histogram adds `_bucket`, `_sum`
 * and `_count`, a summary `_sum` and `_count`.
 */
export function seriesNames(def: MetricDef): string[] {
  if (def.type === 'histogram') return [`${def.name}_bucket`, `${def.name}_sum`, `${def.name}_count`];
  if (def.type === 'summary') return [def.name, `${def.name}_sum`, `${def.name}_count`];
  return [def.name];
}

/** The label names a series of this metric carries (a histogram's `_bucket` adds `le`, a summary `quantile`). */
export function seriesLabels(def: MetricDef, series: string): string[] {
  if (def.type === 'histogram' && series === `${def.name}_bucket`) return [...def.labels, 'le'];
  if (def.type === 'summary' && series === def.name) return [...def.labels, 'quantile'];
  return [...def.labels];
}

/**
 * What differs between a vocabulary and the metrics a registry really holds: a metric registered under a name
 * the vocabulary lacks, one the vocabulary names but nothing registered, or a different type or label set.
 * `only` restricts the registry side (e.g. to a name prefix, leaving prom-client's default metrics out).
 * An empty list means they agree.
 */
export function vocabularyProblems(
  registry: Registry,
  vocabulary: readonly MetricDef[],
  only: (name: string) => boolean = () => true,
): string[] {
  const declared = new Map(vocabulary.map((d) => [d.name, d]));
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const m of registry.getMetricsAsArray() as unknown as {
    name: string;
    type: string;
    labelNames?: readonly string[];
  }[]) {
    if (!only(m.name)) continue;
    seen.add(m.name);
    const d = declared.get(m.name);
    if (!d) {
      problems.push(`${m.name} is registered but not in the vocabulary: add it to the package's *_METRICS`);
      continue;
    }
    if (d.type !== m.type) problems.push(`${m.name} is a ${m.type}, the vocabulary says ${d.type}`);
    const registered = [...(m.labelNames ?? [])].sort().join(',');
    const want = [...d.labels].sort().join(',');
    if (registered !== want)
      problems.push(`${m.name} has labels [${registered}], the vocabulary says [${want}]`);
  }
  for (const d of vocabulary)
    if (!seen.has(d.name)) problems.push(`${d.name} is in the vocabulary but nothing registers it`);
  return problems;
}

/**
 * What every service built on `createServer` registers: the HTTP latency histogram, and prom-client's default
 * process and Node.js metrics (`process_*`, `nodejs_*`, not listed one by one). Every series of such a service
 * also carries the default label `service` (the service's name).
 */
export const SERVER_METRICS = {
  httpRequestDuration: metric('http_request_duration_seconds', 'histogram', [
    'method',
    'route',
    'status_code',
  ]),
  /** The label `createServer` adds to every series of its registry. */
  defaultLabel: 'service',
  /** Name prefixes of prom-client's default metrics. */
  defaultMetricPrefixes: ['process_', 'nodejs_'],
} as const;
