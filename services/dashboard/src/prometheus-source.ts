// The Kubernetes source of the dashboard's numbers: PromQL instant queries against a Prometheus server that
// scrapes the Knative Kafka Broker (receiver, dispatcher, KafkaSink receiver), Strimzi's Kafka Exporter,
// Knative Serving (autoscaler, queue-proxy) and db-events. Metric names: kubernetes-metrics.ts.
import { DB_EVENTS_METRICS as D } from '@tributary/db-events/metrics';
import { TributaryError } from '@tributary/shared';
import { PrometheusDriver } from 'prometheus-query';
import type {
  BrokerView,
  DeadLetterCount,
  FunctionView,
  PlatformMetrics,
  PlatformReading,
  SlotView,
  SourceStatus,
  TriggerMetrics,
  TriggerRef,
} from './collector.js';
import { emptyBrokerView, emptyTriggerMetrics } from './collector.js';
import {
  KNATIVE_KAFKA_BROKER as K,
  KAFKA_EXPORTER,
  KNATIVE_SERVING,
  triggerConsumerGroup,
} from './kubernetes-metrics.js';

/**
 * Where a Broker's dead letters go when they do not go to the dashboard: a KafkaSink (its name, in the
 * Broker's namespace) writing to a topic. Its receiver counts what it accepts (`event_count_1_total`
 * with `name=<sink>`), Kafka Exporter shows what the topic still holds.
 */
export interface DeadLetterSinkRef {
  namespace: string;
  broker: string;
  sink: string;
  topic?: string | undefined;
}

export interface PrometheusMetricsOptions {
  /** Prometheus base URL, e.g. `http://prometheus-operated.monitoring.svc:9090`. */
  url: string;
  /** Range of `rate()` and of the latency quantiles: at least 4 scrape intervals (default `2m`). */
  rateWindow?: string;
  /** Extra request headers (e.g. `Authorization` for a Prometheus behind an auth proxy). */
  headers?: Record<string, string>;
  timeoutMs?: number;
  deadLetterSinks?: readonly DeadLetterSinkRef[];
}

type Labels = Record<string, string>;
interface Row {
  labels: Labels;
  value: number;
}

const RANGE = /^\d+(ms|s|m|h|d|w|y)$/;

/**
 * Parses `DASHBOARD_DEAD_LETTER_SINKS`: comma-separated `<namespace>/<broker>=<kafkasink>[:<topic>]`.
 * Throws naming the entry that is not of that form.
 */
export function parseDeadLetterSinks(list: readonly string[]): DeadLetterSinkRef[] {
  return list.map((entry) => {
    const m = /^([a-z0-9-]+)\/([a-z0-9-]+)=([a-z0-9-]+)(?::([A-Za-z0-9._-]+))?$/.exec(entry.trim());
    if (!m)
      throw new TributaryError(
        `"${entry}" is not <namespace>/<broker>=<kafkasink>[:<topic>] (e.g. tributary/default=dead-letters:tributary-dead-letters)`,
        { code: 'CONFIG_INVALID' },
      );
    return { namespace: m[1]!, broker: m[2]!, sink: m[3]!, ...(m[4] ? { topic: m[4] } : {}) };
  });
}

/** PromQL string literal. */
function q(value: string): string {
  return JSON.stringify(value);
}

export class PrometheusMetrics implements PlatformMetrics {
  readonly mode = 'prometheus' as const;
  private readonly driver: PrometheusDriver;
  private readonly w: string;
  private readonly sinks: readonly DeadLetterSinkRef[];

  /** The URL without user and password (it is shown on the page). */
  private readonly displayUrl: string;

  constructor(opts: PrometheusMetricsOptions) {
    const u = new URL(opts.url);
    u.username = '';
    u.password = '';
    this.displayUrl = u.toString().replace(/\/+$/, '');
    this.w = opts.rateWindow ?? '2m';
    if (!RANGE.test(this.w)) {
      throw new TributaryError(`rateWindow "${this.w}" is not a PromQL duration like 2m`, {
        code: 'CONFIG_INVALID',
      });
    }
    this.sinks = opts.deadLetterSinks ?? [];
    this.driver = new PrometheusDriver({
      endpoint: opts.url.replace(/\/+$/, ''),
      timeout: opts.timeoutMs ?? 5000,
      ...(opts.headers ? { headers: opts.headers } : {}),
    });
  }

  /** Every PromQL expression a `read()` evaluates (for the infra test and the README). */
  queries(): Record<string, string> {
    const w = this.w;
    const { labels: l } = K;
    const byTrigger = `${l.namespace}, ${l.name}, ${l.trigger}`;
    const sinkNames = this.sinks.map((s) => s.sink);
    // Receiver series (no consumer_name) of Brokers; the dead-letter KafkaSinks' receiver is counted apart.
    const receiver = sinkNames.length
      ? `${l.trigger}="", ${l.name}!~${q(sinkNames.join('|'))}`
      : `${l.trigger}=""`;
    const dispatcher = `${l.trigger}!=""`;
    const topicList = this.sinks.flatMap((s) => (s.topic ? [s.topic] : []));
    const topics = topicList.length ? q(topicList.join('|')) : undefined;
    return {
      ingressTotal: `sum by (${l.namespace}, ${l.name}, ${l.responseCode}) (${K.eventCount}{${receiver}})`,
      ingressRate: `sum by (${l.namespace}, ${l.name}, ${l.responseCode}) (rate(${K.eventCount}{${receiver}}[${w}]))`,
      dispatchedTotal: `sum by (${byTrigger}, ${l.responseCodeClass}) (${K.eventCount}{${dispatcher}})`,
      dispatchedRate: `sum by (${byTrigger}, ${l.responseCodeClass}) (rate(${K.eventCount}{${dispatcher}}[${w}]))`,
      p50: `histogram_quantile(0.5, sum by (${byTrigger}, le) (rate(${K.dispatchLatency}_bucket{${dispatcher}}[${w}]))) / 1000`,
      p99: `histogram_quantile(0.99, sum by (${byTrigger}, le) (rate(${K.dispatchLatency}_bucket{${dispatcher}}[${w}]))) / 1000`,
      // Whole-lifetime quantiles, for a Trigger that dispatched nothing in the window.
      p50Total: `histogram_quantile(0.5, sum by (${byTrigger}, le) (${K.dispatchLatency}_bucket{${dispatcher}})) / 1000`,
      p99Total: `histogram_quantile(0.99, sum by (${byTrigger}, le) (${K.dispatchLatency}_bucket{${dispatcher}})) / 1000`,
      // Requests each Knative Service's queue-proxies served: every delivery attempt, retries included.
      attemptsRate: `sum by (namespace_name, service_name) (rate(${KNATIVE_SERVING.requestCount}[${w}]))`,
      lagEvents: `sum by (consumergroup) (${KAFKA_EXPORTER.consumerGroupLag}{consumergroup=~"knative-trigger-.+"})`,
      lagSeconds: `max by (consumergroup) (${KAFKA_EXPORTER.consumerLagMillis}{consumergroup=~"knative-trigger-.+"}) / 1000`,
      scale: `sum by (namespace_name, configuration_name) (${KNATIVE_SERVING.actualPods})`,
      ...(sinkNames.length
        ? {
            deadLettersTotal: `sum by (${l.namespace}, ${l.name}) (${K.eventCount}{${l.trigger}="", ${l.name}=~${q(sinkNames.join('|'))}, ${l.responseCodeClass}="2xx"})`,
          }
        : {}),
      ...(topics
        ? {
            deadLettersRetained: `sum by (topic) (${KAFKA_EXPORTER.topicCurrentOffset}{topic=~${topics}}) - sum by (topic) (${KAFKA_EXPORTER.topicOldestOffset}{topic=~${topics}})`,
          }
        : {}),
      slotConnected: `max by (instance) (${D.connected.name})`,
      slotLagBytes: `max by (instance) (${D.lagBytes.name})`,
      slotLagSeconds: `max by (instance) (${D.lagSeconds.name})`,
      slotSafeWal: `min by (instance) (${D.slotSafeWalSize.name})`,
      slotWalStatus: `max by (instance, status) (${D.slotWalStatus.name}) == 1`,
    };
  }

  private async run(query: string, at: number): Promise<Row[]> {
    try {
      const res = await this.driver.instantQuery(query, new Date(at));
      return (res.result as { metric: { labels: Labels }; value: { value: number } }[]).map((r) => ({
        labels: r.metric.labels,
        value: r.value.value,
      }));
    } catch (err) {
      // prometheus-query throws plain objects ({ errorType, error }); make them Errors with a message.
      if (err instanceof Error) throw err;
      const e = err as { errorType?: string; error?: string; httpStatus?: number };
      throw new TributaryError(
        `Prometheus ${e.errorType ?? 'error'}${e.httpStatus ? ` (HTTP ${e.httpStatus})` : ''}: ${e.error ?? String(err)} — query: ${query}`,
        { code: 'METRICS_SOURCE_FAILED' },
      );
    }
  }

  async read(_now: number, known: readonly TriggerRef[]): Promise<PlatformReading> {
    const queries = this.queries();
    const names = Object.keys(queries);
    // Evaluated at the wall clock (the collector's `now` may be a test's logical time).
    const at = Date.now();
    let r: Readings;
    const status: SourceStatus = { kind: 'other', name: `prometheus ${this.displayUrl}`, ok: true };
    try {
      const rows = await Promise.all(names.map((n) => this.run(queries[n]!, at)));
      r = Object.fromEntries(names.map((n, i) => [n, rows[i]!]));
    } catch (err) {
      return {
        sources: [{ ...status, ok: false, error: err instanceof Error ? err.message : String(err) }],
        brokers: [],
        triggers: [],
        functions: [],
        slots: [],
        deadLetters: null,
      };
    }
    return {
      sources: [status],
      brokers: brokersFrom(r),
      triggers: this.triggersFrom(r, known),
      functions: functionsFrom(r),
      slots: slotsFrom(r),
      deadLetters: this.deadLettersFrom(r),
    };
  }

  /** Triggers (dispatcher): delivered / failed, rates, quantiles, retries, dead letters, lag; one per (namespace, trigger). */
  private triggersFrom(r: Readings, known: readonly TriggerRef[]): TriggerMetrics[] {
    const { labels: l } = K;
    const triggers = new Map<string, TriggerMetrics>();
    const trigger = (labels: Labels) => {
      const ns = labels[l.namespace] ?? '';
      const name = labels[l.trigger] ?? '';
      const key = `${ns}/${name}`;
      let t = triggers.get(key);
      if (!t) {
        t = emptyTriggerMetrics(ns, labels[l.name] ?? '', name);
        triggers.set(key, t);
      }
      return t;
    };
    for (const t of known)
      triggers.set(`${t.namespace}/${t.name}`, emptyTriggerMetrics(t.namespace, t.broker, t.name));
    const ok = (labels: Labels) => labels[l.responseCodeClass] === '2xx';
    for (const row of r.dispatchedTotal!) {
      const t = trigger(row.labels);
      if (ok(row.labels)) t.delivered += val(row.value);
      else t.failed += val(row.value);
    }
    for (const row of r.dispatchedRate!) {
      const t = trigger(row.labels);
      if (ok(row.labels)) t.deliveredRate += val(row.value);
      else t.failedRate += val(row.value);
    }
    const quantile = (rows: Row[], set: (t: TriggerMetrics, v: number) => void) => {
      for (const row of rows) if (Number.isFinite(row.value)) set(trigger(row.labels), row.value);
    };
    quantile(r.p50Total!, (t, v) => {
      t.p50 = v;
    });
    quantile(r.p99Total!, (t, v) => {
      t.p99 = v;
    });
    quantile(r.p50!, (t, v) => {
      t.p50 = v;
    });
    quantile(r.p99!, (t, v) => {
      t.p99 = v;
    });
    // Dead-lettered: Knative sends every failed final outcome to the Broker's (or Trigger's) dead-letter
    // sink; the dispatcher does not count those sends, so a Trigger's dead letters are its failures when its
    // Broker has a sink configured here.
    const withSink = new Set(this.sinks.map((s) => `${s.namespace}/${s.broker}`));
    // Retries: attempts the subscriber's queue-proxies served minus final outcomes (both per second).
    const attempts = new Map<string, number>();
    for (const row of r.attemptsRate!)
      attempts.set(`${row.labels.namespace_name}/${row.labels.service_name}`, val(row.value));
    const services = new Map<string, number>();
    for (const t of known)
      if (t.subscriberService) {
        const key = `${t.namespace}/${t.subscriberService}`;
        services.set(key, (services.get(key) ?? 0) + 1);
      }
    const lagEvents = new Map(r.lagEvents!.map((x) => [x.labels.consumergroup ?? '', val(x.value)]));
    const lagSeconds = new Map(r.lagSeconds!.map((x) => [x.labels.consumergroup ?? '', val(x.value)]));
    for (const t of triggers.values()) {
      if (withSink.has(`${t.namespace}/${t.broker}`)) t.deadLettered = t.failed;
      const ref = known.find((k) => k.namespace === t.namespace && k.name === t.name);
      const svc = ref?.subscriberService ? `${t.namespace}/${ref.subscriberService}` : undefined;
      // Only when this Trigger is the Service's one subscription: otherwise the attempts are shared.
      if (svc && services.get(svc) === 1 && attempts.has(svc))
        t.retryRate = Math.max(0, attempts.get(svc)! - t.deliveredRate - t.failedRate);
      const group = triggerConsumerGroup(t.namespace, t.name);
      t.lagEvents = lagEvents.get(group) ?? 0;
      t.lagSeconds = lagSeconds.get(group) ?? 0;
    }
    return [...triggers.values()];
  }

  /** Dead letters held by the KafkaSinks: what their receivers accepted, what their topics still hold. */
  private deadLettersFrom(r: Readings): DeadLetterCount[] | null {
    if (this.sinks.length === 0) return null;
    const { labels: l } = K;
    const accepted = new Map(
      (r.deadLettersTotal ?? []).map((x) => [`${x.labels[l.namespace]}/${x.labels[l.name]}`, val(x.value)]),
    );
    const retained = new Map((r.deadLettersRetained ?? []).map((x) => [x.labels.topic ?? '', val(x.value)]));
    return this.sinks.map((s) => {
      const received = accepted.get(`${s.namespace}/${s.sink}`) ?? 0;
      // What the topic still holds (nothing consumes it but a redrive); the sink's count without a topic.
      const pending = s.topic && retained.has(s.topic) ? retained.get(s.topic)! : received;
      // The receiver's counter restarts with its pods; the topic remembers longer.
      return { namespace: s.namespace, broker: s.broker, total: Math.max(received, pending), pending };
    });
  }
}

/** The rows of each query of {@link PrometheusMetrics.queries}, by query name. */
type Readings = Record<string, Row[]>;

const val = (x: number) => (Number.isFinite(x) ? x : 0);

/** Brokers (receiver): accepted (2xx) and rejections by status code, totals and rates. */
function brokersFrom(r: Readings): BrokerView[] {
  const { labels: l } = K;
  const brokers = new Map<string, BrokerView>();
  const broker = (ns: string, name: string) => {
    const key = `${ns}/${name}`;
    let b = brokers.get(key);
    if (!b) {
      b = emptyBrokerView(ns, name);
      brokers.set(key, b);
    }
    return b;
  };
  const ingressRates = new Map<string, number>();
  for (const row of r.ingressRate!)
    ingressRates.set(
      `${row.labels[l.namespace]}/${row.labels[l.name]}/${row.labels[l.responseCode]}`,
      val(row.value),
    );
  for (const row of r.ingressTotal!) {
    const ns = row.labels[l.namespace] ?? '';
    const name = row.labels[l.name] ?? '';
    const code = row.labels[l.responseCode] ?? '';
    const b = broker(ns, name);
    const rate = ingressRates.get(`${ns}/${name}/${code}`) ?? 0;
    // The Knative receiver answers 202 when the event is written to Kafka (200 is not used).
    if (/^2/.test(code)) {
      b.accepted += val(row.value);
      b.ingressRate += rate;
    } else b.rejections.push({ statusCode: code, total: val(row.value), rate });
  }
  for (const b of brokers.values()) b.rejections.sort((a, c) => a.statusCode.localeCompare(c.statusCode));
  return [...brokers.values()];
}

/** Functions: pods of each Knative Service's Revisions (a Service's Configuration has its name). */
function functionsFrom(r: Readings): FunctionView[] {
  return r.scale!.map((row) => ({
    namespace: row.labels.namespace_name ?? '',
    name: row.labels.configuration_name ?? '',
    scale: val(row.value),
    coldStarts: 0,
    coldStartP50: null,
  }));
}

/** db-events' replication slots, one per scrape `instance`. */
function slotsFrom(r: Readings): SlotView[] {
  const slots = new Map<string, SlotView>();
  const slot = (labels: Labels) => {
    const source = labels.instance ?? 'db-events';
    let v = slots.get(source);
    if (!v) {
      v = {
        source,
        connected: null,
        lagBytes: null,
        lagSeconds: null,
        walStatus: null,
        safeWalSize: null,
        level: 'ok',
        warnings: [],
      };
      slots.set(source, v);
    }
    return v;
  };
  for (const row of r.slotConnected!) slot(row.labels).connected = row.value === 1;
  for (const row of r.slotLagBytes!) slot(row.labels).lagBytes = row.value;
  for (const row of r.slotLagSeconds!) slot(row.labels).lagSeconds = row.value;
  for (const row of r.slotSafeWal!) slot(row.labels).safeWalSize = row.value < 0 ? null : row.value;
  for (const row of r.slotWalStatus!) slot(row.labels).walStatus = row.labels.status ?? null;
  return [...slots.values()];
}
