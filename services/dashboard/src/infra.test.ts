// infra/grafana and infra/prometheus: the Grafana dashboard JSON is well-formed, and every metric its queries
// and the alert rules use is really exported by a Tributary service (names collected from the services'
// prom-client metric definitions, so a renamed metric breaks this test instead of a panel).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse as parseYaml } from 'yaml';

const repoRoot = resolve(import.meta.dirname, '../../..');

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/**
 * Names of the series the services export: every `new Counter|Gauge|Histogram|Summary({ name: '...' })`
 * under eventing/src, packages/shared/src and services/<svc>/src; histograms add `_bucket`, `_sum`,
 * `_count`. Plus the prom-client default metrics every createServer registers (`process_*`, `nodejs_*`).
 */
function exportedMetrics(): Set<string> {
  const roots = [join(repoRoot, 'eventing/src'), join(repoRoot, 'packages/shared/src')];
  for (const s of readdirSync(join(repoRoot, 'services'))) {
    const src = join(repoRoot, 'services', s, 'src');
    try {
      if (statSync(src).isDirectory()) roots.push(src);
    } catch {
      // not a service with sources (e.g. services/functions)
    }
  }
  const names = new Set<string>();
  const re =
    /new\s+(Counter|Gauge|Histogram|Summary)\s*(?:<[^>]*>)?\s*\(\s*\{\s*name:\s*'([a-zA-Z_:][a-zA-Z0-9_:]*)'/g;
  for (const root of roots) {
    for (const file of sourceFiles(root)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(re)) {
        const [, kind, name] = m as unknown as [string, string, string];
        names.add(name);
        if (kind === 'Histogram' || kind === 'Summary') {
          names.add(`${name}_sum`);
          names.add(`${name}_count`);
          if (kind === 'Histogram') names.add(`${name}_bucket`);
        }
      }
    }
  }
  return names;
}

const PROMQL_FUNCTIONS = new Set([
  'abs',
  'absent',
  'absent_over_time',
  'avg',
  'avg_over_time',
  'bottomk',
  'ceil',
  'changes',
  'clamp',
  'clamp_max',
  'clamp_min',
  'count',
  'count_over_time',
  'count_values',
  'delta',
  'deriv',
  'exp',
  'floor',
  'group',
  'histogram_quantile',
  'holt_winters',
  'idelta',
  'increase',
  'irate',
  'label_join',
  'label_replace',
  'last_over_time',
  'ln',
  'log2',
  'log10',
  'max',
  'max_over_time',
  'min',
  'min_over_time',
  'predict_linear',
  'quantile',
  'quantile_over_time',
  'rate',
  'resets',
  'round',
  'scalar',
  'sort',
  'sort_desc',
  'sqrt',
  'stddev',
  'stdvar',
  'sum',
  'sum_over_time',
  'time',
  'timestamp',
  'topk',
  'vector',
  'label_values',
]);
const PROMQL_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'and',
  'or',
  'unless',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression selects: identifiers that are not functions, keywords, label names
 * (inside `{...}` or `by (...)`), strings, durations or Grafana variables.
 */
export function promqlMetricNames(expr: string): string[] {
  const cleaned = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""') // strings
    .replace(/\{[^}]*\}/g, '{}') // label matchers
    .replace(/\[[^\]]*\]/g, '[]') // range selectors
    .replace(/label_values\(([^,()]*),\s*[a-zA-Z_]+\)/g, 'label_values($1)') // Grafana: the label argument
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '$1 ()') // grouping labels
    .replace(/\$\{?[a-zA-Z_]+\}?/g, ' '); // Grafana variables
  const names: string[] = [];
  for (const m of cleaned.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const id = m[0];
    if (PROMQL_FUNCTIONS.has(id) || PROMQL_KEYWORDS.has(id.toLowerCase())) continue;
    if (/^\d/.test(id)) continue;
    names.push(id);
  }
  return names;
}

interface Panel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: { refId?: string; expr?: string; datasource?: { type?: string } }[];
  panels?: Panel[];
}

const grafanaDir = join(repoRoot, 'infra/grafana');
const dashboards = readdirSync(grafanaDir).filter((f) => f.endsWith('.json'));
const exported = exportedMetrics();

describe('exported metric names', () => {
  it('finds the services metrics in their sources', () => {
    for (const n of [
      'tributary_broker_ingress_events_total',
      'tributary_trigger_dispatch_latency_seconds_bucket',
      'tributary_dead_letters_pending',
      'db_events_slot_safe_wal_size_bytes',
      'serving_instances',
    ]) {
      expect(exported).toContain(n);
    }
  });

  it('promqlMetricNames ignores functions, labels, strings, durations and variables', () => {
    expect(
      promqlMetricNames(
        'histogram_quantile(0.99, sum by (trigger, le) (rate(a_bucket{x=~"$ns", y="rate"}[$__rate_interval]))) / on (le) b_total > 0.5 and c',
      ),
    ).toEqual(['a_bucket', 'b_total', 'c']);
  });
});

describe.each(dashboards)('Grafana dashboard %s', (file) => {
  const dash = JSON.parse(readFileSync(join(grafanaDir, file), 'utf8')) as {
    uid?: string;
    title?: string;
    schemaVersion?: number;
    panels?: Panel[];
    templating?: { list?: { name: string; type: string; query?: unknown }[] };
  };
  const panels = (dash.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
  const dataPanels = panels.filter((p) => p.type !== 'row');

  it('has a uid, a title, a schema version, panels and a Prometheus datasource variable', () => {
    expect(dash.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(dash.title).toBeTruthy();
    expect(dash.schemaVersion).toBeGreaterThanOrEqual(30);
    expect(dataPanels.length).toBeGreaterThan(0);
    expect(dash.templating?.list?.find((v) => v.type === 'datasource')?.query).toBe('prometheus');
  });

  it('gives every panel a unique id, a grid position and Prometheus targets with refIds', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dataPanels) {
      expect(p.title).toBeTruthy();
      expect(p.gridPos).toEqual({
        h: expect.any(Number),
        w: expect.any(Number),
        x: expect.any(Number),
        y: expect.any(Number),
      });
      expect(p.gridPos!.x + p.gridPos!.w).toBeLessThanOrEqual(24);
      expect(p.datasource?.type).toBe('prometheus');
      expect(p.targets?.length).toBeGreaterThan(0);
      const refIds = p.targets!.map((t) => t.refId);
      expect(new Set(refIds).size).toBe(refIds.length);
      for (const t of p.targets!) expect(t.expr?.trim()).toBeTruthy();
    }
  });

  it('covers throughput, failures, lag, dead letters, slot health and function scale', () => {
    const all = dataPanels.flatMap((p) => p.targets!.flatMap((t) => promqlMetricNames(t.expr!)));
    for (const m of [
      'tributary_broker_ingress_events_total',
      'tributary_trigger_events_dispatched_total',
      'tributary_trigger_lag_events',
      'tributary_trigger_lag_seconds',
      'tributary_dead_letters_pending',
      'db_events_slot_wal_status',
      'db_events_slot_safe_wal_size_bytes',
      'serving_instances',
    ]) {
      expect(all).toContain(m);
    }
  });

  it('queries only metrics the services export', () => {
    const queries = [
      ...dataPanels.flatMap((p) => p.targets!.map((t) => t.expr!)),
      ...(dash.templating?.list ?? []).flatMap((v) =>
        v.type === 'query'
          ? [typeof v.query === 'string' ? v.query : ((v.query as { query?: string })?.query ?? '')]
          : [],
      ),
    ];
    const unknown = [...new Set(queries.flatMap(promqlMetricNames))].filter((n) => !exported.has(n));
    expect(unknown).toEqual([]);
  });
});

describe('Prometheus alert rules', () => {
  const doc = parseYaml(readFileSync(join(repoRoot, 'infra/prometheus/tributary-alerts.yaml'), 'utf8')) as {
    kind?: string;
    spec?: {
      groups?: { name: string; rules: { alert?: string; expr: string; labels?: { severity?: string } }[] }[];
    };
  };
  const rules = (doc.spec?.groups ?? []).flatMap((g) => g.rules);

  it('is a PrometheusRule with alerts that carry a severity', () => {
    expect(doc.kind).toBe('PrometheusRule');
    expect(rules.length).toBeGreaterThan(0);
    for (const r of rules) {
      expect(r.alert).toMatch(/^[A-Z][A-Za-z0-9]+$/);
      expect(['info', 'warning', 'critical']).toContain(r.labels?.severity);
    }
  });

  it('alerts on lag growth, the dead-letter queue, slot WAL at risk and the delivery failure rate', () => {
    const names = rules.map((r) => r.alert);
    for (const a of [
      'TributaryTriggerLagGrowing',
      'TributaryDeadLettersGrowing',
      'TributarySlotWalAtRisk',
      'TributaryDeliveryFailureRate',
    ]) {
      expect(names).toContain(a);
    }
  });

  it('uses only metrics the services export', () => {
    const unknown = [...new Set(rules.flatMap((r) => promqlMetricNames(r.expr)))].filter(
      (n) => !exported.has(n),
    );
    expect(unknown).toEqual([]);
  });
});
