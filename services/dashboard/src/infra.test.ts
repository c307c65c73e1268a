// infra/grafana and infra/prometheus: the Grafana dashboard JSON is well-formed, and every metric (and label)
// its queries, the alert rules and the dashboard's Prometheus source use is really exported: by a Tributary
// service (the owners' vocabulary constants, which each package's own test checks against what it registers,
// see test-vocabulary.ts), or, on Kubernetes, by the Knative / Kafka Exporter components listed with their
// sources in kubernetes-metrics.ts. A renamed metric breaks this test instead of a panel.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parser } from '@prometheus-io/lezer-promql';
import { promtoolCheckRules } from '@tributary/testing';
import { parseAllDocuments, parse as parseYaml, stringify } from 'yaml';
import { kubernetesMetricLabels, kubernetesMetricNames, TARGET_LABELS } from './kubernetes-metrics.js';
import { PrometheusMetrics } from './prometheus-source.js';
import { tributarySeries } from './test-vocabulary.js';

const repoRoot = resolve(import.meta.dirname, '../../..');

/** A metric selector of a PromQL expression: the metric name and the labels its matchers use. */
export interface PromqlSelector {
  metric: string;
  labels: string[];
}

/**
 * Grafana's template syntax made PromQL: `label_values(<selector>, label)` is its selector, `$__rate_interval`
 * and other range variables a duration, `$var` inside a string a regex.
 */
function fromGrafana(expr: string): string {
  const lv = /^\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$/s.exec(expr);
  const e = lv ? lv[1]! : expr;
  return e.replace(/\[\$\{?[a-zA-Z_]+\}?\]/g, '[5m]').replace(/\$\{?[a-zA-Z_]+\}?/g, '.*');
}

/**
 * The selectors of a PromQL expression, from Prometheus' own PromQL grammar (@prometheus-io/lezer-promql, the
 * parser of Prometheus' web UI). Throws on a syntax error, naming the expression.
 */
export function promqlSelectors(expr: string): PromqlSelector[] {
  const text = fromGrafana(expr);
  const tree = parser.parse(text);
  const out: PromqlSelector[] = [];
  let error: number | undefined;
  tree.iterate({
    enter: (n) => {
      if (n.type.isError && error === undefined) error = n.from;
      if (n.name !== 'VectorSelector') return;
      const id = n.node.getChild('Identifier');
      const matchers = n.node.getChild('LabelMatchers');
      const labels: string[] = [];
      if (matchers)
        matchers.toTree().iterate({
          enter: (m) => {
            if (m.name === 'LabelName') labels.push(text.slice(matchers.from + m.from, matchers.from + m.to));
          },
        });
      if (id) out.push({ metric: text.slice(id.from, id.to), labels });
    },
  });
  if (error !== undefined) throw new Error(`PromQL syntax error at ${error} in: ${text}`);
  return out;
}

/** The metric names a PromQL (or Grafana templating) expression selects. */
export function promqlMetricNames(expr: string): string[] {
  return promqlSelectors(expr).map((s) => s.metric);
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
const tributary = tributarySeries();
const exported = new Set(tributary.keys());
const k8sNames = kubernetesMetricNames();
const seriesLabels = new Map([...tributary, ...kubernetesMetricLabels()]);

/**
 * What a file may query. Kubernetes files (`*kubernetes*`): the Knative Kafka Broker's, Kafka Exporter's and
 * Knative Serving's series, plus what the Tributary services that still run there export (db-events, the
 * dashboard's dead-letter store). The others: what the Tributary services export.
 */
function vocabulary(file: string): Set<string> {
  if (!file.includes('kubernetes')) return exported;
  const onK8s = [...exported].filter(
    (n) => n.startsWith('db_events_') || n.startsWith('tributary_dead_letters_'),
  );
  return new Set([...k8sNames, ...onK8s]);
}

/** Unknown metrics, and labels a series does not carry, in a set of expressions. */
function problems(exprs: string[], allowed: Set<string>): string[] {
  const out: string[] = [];
  for (const e of exprs) {
    for (const sel of promqlSelectors(e)) {
      if (!allowed.has(sel.metric)) out.push(`unknown metric ${sel.metric} in: ${e}`);
      const labels = seriesLabels.get(sel.metric);
      if (!labels) continue;
      for (const l of sel.labels)
        if (!labels.has(l) && !TARGET_LABELS.includes(l)) out.push(`${sel.metric} has no label ${l}: ${e}`);
    }
  }
  return out;
}

describe('the vocabulary check', () => {
  it('names an unknown metric and a label a Kubernetes series does not carry', () => {
    expect(
      problems(
        ['sum(rate(event_count_1_total{trigger="t"}[5m])) + tributary_trigger_lag_events'],
        vocabulary('kubernetes'),
      ),
    ).toEqual([
      expect.stringContaining('event_count_1_total has no label trigger'),
      expect.stringContaining('unknown metric tributary_trigger_lag_events'),
    ]);
  });
});

describe("the Tributary services' vocabulary", () => {
  it('names an unknown metric and a label a Tributary series does not carry', () => {
    expect(
      problems(
        [
          'sum by (trigger) (tributary_trigger_lag_events{destination="subscriber"})',
          'rate(tributary_trigger_events_delivered_total[5m])',
          'histogram_quantile(0.99, sum by (le) (rate(tributary_trigger_dispatch_latency_seconds_bucket{service="broker"}[5m])))',
        ],
        vocabulary('tributary'),
      ),
    ).toEqual([
      expect.stringContaining('tributary_trigger_lag_events has no label destination'),
      expect.stringContaining('unknown metric tributary_trigger_events_delivered_total'),
    ]);
  });

  it("is named in the dashboard's and the CLI's code only through the owners' constants (no literal metric names)", () => {
    const known = new Set([...exported, ...k8sNames]);
    const offenders: string[] = [];
    const readers = ['services/dashboard/src', 'cli/src'];
    const files = readers.flatMap((dir) =>
      readdirSync(join(repoRoot, dir), { recursive: true, encoding: 'utf8' })
        .filter(
          (f) =>
            f.endsWith('.ts') &&
            !f.endsWith('.test.ts') &&
            !/(^|\/)test-[^/]*$/.test(f) &&
            // The external (Knative, Kafka Exporter) vocabulary is declared there, with its sources.
            f !== 'kubernetes-metrics.ts',
        )
        .map((f) => `${dir}/${f}`),
    );
    expect(files).toEqual(
      expect.arrayContaining([
        'services/dashboard/src/collector.ts',
        'services/dashboard/src/prometheus-source.ts',
        'services/dashboard/src/views/triggers.ts',
        'cli/src/commands/status.ts',
      ]),
    );
    for (const f of files) {
      // Code only: comments may name the series they talk about.
      const text = readFileSync(join(repoRoot, f), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, '');
      for (const m of text.matchAll(/\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b/g))
        if (known.has(m[0])) offenders.push(`${f}: ${m[0]}`);
    }
    expect(offenders).toEqual([]);
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
  const k8s = file.includes('kubernetes');

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

  it('covers throughput, failures, retries, latency, lag, dead letters, slot health and function scale', () => {
    const all = dataPanels.flatMap((p) => p.targets!.flatMap((t) => promqlMetricNames(t.expr!)));
    const required = k8s
      ? [
          'event_count_1_total',
          'event_dispatch_latencies_ms_bucket',
          'revision_request_count',
          'kafka_consumergroup_lag',
          'kafka_consumer_lag_millis',
          'kafka_topic_partition_current_offset',
          'tributary_dead_letters_pending',
          'db_events_slot_wal_status',
          'db_events_slot_safe_wal_size_bytes',
          'autoscaler_actual_pods',
        ]
      : [
          'tributary_broker_ingress_events_total',
          'tributary_trigger_events_dispatched_total',
          'tributary_trigger_retries_total',
          'tributary_trigger_lag_events',
          'tributary_trigger_lag_seconds',
          'tributary_dead_letters_pending',
          'db_events_slot_wal_status',
          'db_events_slot_safe_wal_size_bytes',
          'serving_instances',
        ];
    for (const m of required) expect(all).toContain(m);
  });

  it(`queries only metrics (and labels) the ${k8s ? 'Kubernetes stack' : 'services'} export${k8s ? 's' : ''}`, () => {
    const queries = [
      ...dataPanels.flatMap((p) => p.targets!.map((t) => t.expr!)),
      ...(dash.templating?.list ?? []).flatMap((v) =>
        v.type === 'query'
          ? [typeof v.query === 'string' ? v.query : ((v.query as { query?: string })?.query ?? '')]
          : [],
      ),
    ];
    expect(problems(queries, vocabulary(file))).toEqual([]);
  });
});

interface RuleFile {
  kind?: string;
  spec?: {
    groups?: { name: string; rules: { alert?: string; expr: string; labels?: { severity?: string } }[] }[];
  };
}

const ruleFiles = readdirSync(join(repoRoot, 'infra/prometheus')).filter((f) => f.endsWith('alerts.yaml'));
const readRules = (file: string) =>
  parseYaml(readFileSync(join(repoRoot, 'infra/prometheus', file), 'utf8')) as RuleFile;

describe.each(ruleFiles)('Prometheus alert rules %s', (file) => {
  const doc = readRules(file);
  const rules = (doc.spec?.groups ?? []).flatMap((g) => g.rules);
  const k8s = file.includes('kubernetes');

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
      'TributaryTriggerLagTooOld',
      'TributaryDeadLettersGrowing',
      'TributarySlotWalAtRisk',
      'TributaryDeliveryFailureRate',
    ]) {
      expect(names).toContain(a);
    }
  });

  it(`uses only metrics (and labels) the ${k8s ? 'Kubernetes stack exports' : 'services export'}`, () => {
    expect(
      problems(
        rules.map((r) => r.expr),
        vocabulary(file),
      ),
    ).toEqual([]);
  });
});

describe("the dashboard's Prometheus source", () => {
  it('queries only metrics and labels the Kubernetes stack exports', () => {
    const source = new PrometheusMetrics({
      url: 'http://127.0.0.1:9',
      deadLetterSinks: [{ namespace: 'tributary', broker: 'default', sink: 'dead-letters', topic: 'dlq' }],
    });
    const queries = Object.values(source.queries());
    expect(queries.length).toBeGreaterThan(10);
    expect(problems(queries, vocabulary('kubernetes'))).toEqual([]);
  });
});

describe('promtool check rules', () => {
  it(
    'accepts every rule file (the PrometheusRule spec as a plain rules file)',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tributary-rules-'));
      try {
        const files = ruleFiles.map((f) => {
          const out = join(dir, f);
          writeFileSync(out, stringify({ groups: readRules(f).spec?.groups ?? [] }));
          return out;
        });
        const output = await promtoolCheckRules(files, (l) => process.stderr.write(`${l}\n`));
        for (const f of ruleFiles) expect(output).toContain(`Checking ${join(dir, f)}`);
        expect(output).toMatch(/SUCCESS: \d+ rules found/);
        expect(output).not.toMatch(/FAILED/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    30 * 60_000,
  );
});

describe('what Prometheus scrapes on Kubernetes (tributary-kubernetes-scrape.yaml)', () => {
  const docs = parseAllDocuments(
    readFileSync(join(repoRoot, 'infra/prometheus/tributary-kubernetes-scrape.yaml'), 'utf8'),
  ).map(
    (d) =>
      d.toJS() as {
        apiVersion: string;
        kind: string;
        metadata: { name: string; namespace: string };
        spec: {
          selector: { matchLabels?: Record<string, string>; matchExpressions?: { values?: string[] }[] };
          podMetricsEndpoints: { port: string; path: string }[];
        };
      },
  );
  const by = (ns: string) => docs.filter((d) => d.metadata.namespace === ns);
  const selected = (ns: string) =>
    by(ns).flatMap((d) => [
      ...Object.values(d.spec.selector.matchLabels ?? {}),
      ...(d.spec.selector.matchExpressions ?? []).flatMap((e) => e.values ?? []),
    ]);

  it('is a set of PodMonitors with a selector and a named metrics port each', () => {
    expect(docs.length).toBeGreaterThanOrEqual(5);
    for (const d of docs) {
      expect([d.metadata.name, d.apiVersion, d.kind]).toEqual([
        d.metadata.name,
        'monitoring.coreos.com/v1',
        'PodMonitor',
      ]);
      expect(d.spec.podMetricsEndpoints.length).toBeGreaterThan(0);
      for (const e of d.spec.podMetricsEndpoints)
        expect(e).toMatchObject({ port: expect.any(String), path: '/metrics' });
    }
  });

  it('covers every source of the Kubernetes metrics: Kafka Broker data plane, Kafka Exporter, Serving, db-events', () => {
    expect(selected('knative-eventing')).toEqual(
      expect.arrayContaining(['kafka-broker-receiver', 'kafka-broker-dispatcher', 'kafka-sink-receiver']),
    );
    expect(selected('kafka')).toContain('tributary-kafka-exporter');
    expect(selected('knative-serving')).toContain('autoscaler');
    expect(by('tributary').flatMap((d) => d.spec.podMetricsEndpoints.map((e) => e.port))).toEqual(
      expect.arrayContaining(['http-usermetric', 'http']),
    );
    expect(selected('tributary')).toEqual(expect.arrayContaining(['db-events', 'dashboard']));
  });
});
