// View "triggers": per Trigger its filter and subscriber, delivered / failed / retrying rates and totals,
// dead letters, in flight, p50/p99 dispatch latency, and lag in events and seconds with a trend.
import { type BrokerLog, type LoadedResources, TRIGGER_METRICS } from '@tributary/eventing';
import { type Logger, seriesNames } from '@tributary/shared';
import { describeFilter } from '../filters.js';
import { triggerConsumerGroup } from '../kubernetes-metrics.js';
import type { Sample } from '../prometheus.js';
import { byKey, label, type Match, maxOf, quantiles, rate, type ScrapeWindow, total } from './series.js';
import type { ClusterView, PlatformReading, TriggerMetrics, TriggerRef, TriggerView } from './types.js';

const T = TRIGGER_METRICS;

export function emptyTriggerMetrics(namespace: string, broker: string, name: string): TriggerMetrics {
  return {
    namespace,
    broker,
    name,
    delivered: 0,
    failed: 0,
    deadLettered: 0,
    deliveredRate: 0,
    failedRate: 0,
    retryRate: 0,
    inFlight: 0,
    p50: null,
    p99: null,
    lagEvents: 0,
    lagSeconds: 0,
  };
}

/** One-machine mode: the brokers' `tributary_trigger_*` series, one entry per (namespace, trigger). */
export function scrapedTriggers(windows: readonly ScrapeWindow[]): TriggerMetrics[] {
  const views = new Map<string, TriggerMetrics>();
  const ok = (x: Sample) => /^2/.test(label(x, T.dispatched, 'status_code') ?? '');
  const bad = (x: Sample) => !ok(x);
  const names = new Set(Object.values(T).flatMap(seriesNames));
  for (const w of windows) {
    const cur = w.now;
    const seen = new Set<string>();
    for (const s of cur.samples) {
      if (!names.has(s.name) || !s.labels.trigger) continue;
      const key = `${s.labels.namespace}/${s.labels.broker}/${s.labels.trigger}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const ns = s.labels.namespace ?? '';
      let v = views.get(`${ns}/${s.labels.trigger}`);
      if (!v) {
        v = emptyTriggerMetrics(ns, s.labels.broker ?? '', s.labels.trigger);
        views.set(`${ns}/${s.labels.trigger}`, v);
      }
      const m = { namespace: v.namespace, broker: v.broker, trigger: v.name } satisfies Match<
        typeof T.inFlight
      >;
      const sub = { ...m, destination: 'subscriber' } satisfies Match<typeof T.dispatched>;
      v.delivered += total(cur, T.dispatched, sub, ok);
      v.failed += total(cur, T.dispatched, sub, bad);
      v.deliveredRate += rate(w, T.dispatched, sub, ok);
      v.failedRate += rate(w, T.dispatched, sub, bad);
      v.retryRate += rate(w, T.retries, sub);
      v.deadLettered += total(cur, T.deadLetters, m);
      v.inFlight += total(cur, T.inFlight, m);
      const { p50, p99 } = quantiles(w, T.dispatchLatency, sub);
      v.p50 = p50;
      v.p99 = p99;
      v.lagEvents += total(cur, T.lagEvents, m);
      v.lagSeconds = Math.max(v.lagSeconds, maxOf(cur, T.lagSeconds, m));
    }
  }
  return [...views.values()];
}

/** A Trigger the YAML or the Kubernetes API describes. */
export type KnownTrigger = TriggerRef & Pick<TriggerView, 'filter' | 'subscriber' | 'ready' | 'reason'>;

/** Triggers from the YAML and the Kubernetes API, with what they deliver to. */
export function knownTriggers(
  resources: LoadedResources | undefined,
  cluster: ClusterView | undefined,
): Map<string, KnownTrigger> {
  const out = new Map<string, KnownTrigger>();
  for (const t of resources?.triggers ?? []) {
    const ref = t.subscriber.ref;
    out.set(`${t.namespace}/${t.name}`, {
      namespace: t.namespace,
      broker: t.broker,
      name: t.name,
      filter: describeFilter(t.filterSpec),
      subscriber: t.subscriber.uri ?? (ref ? `${ref.kind}/${ref.name}` : undefined),
      subscriberService: ref?.kind === 'Service' ? ref.name : undefined,
    });
  }
  for (const t of cluster?.triggers ?? []) {
    const m = t.subscriber ? /^Service\/(.+)$/.exec(t.subscriber) : null;
    out.set(`${t.namespace}/${t.name}`, {
      namespace: t.namespace,
      broker: t.broker,
      name: t.name,
      filter: t.filter,
      subscriber: t.subscriber,
      subscriberService: m?.[1],
      ready: t.ready,
      reason: t.reason,
    });
  }
  return out;
}

/**
 * The triggers view: the known Triggers and the source's numbers, lag read straight from the log when there is
 * one (fresher than the source's gauges), and a lag trend of `points` points per Trigger.
 */
export class TriggersView {
  private readonly lagHistory = new Map<string, [number, number, number][]>();

  constructor(private readonly opts: { log?: BrokerLog | undefined; logger: Logger; points: number }) {}

  async build(
    now: number,
    reading: PlatformReading,
    known: Map<string, KnownTrigger>,
  ): Promise<TriggerView[]> {
    const views = new Map<string, TriggerView>();
    for (const [key, t] of known) {
      const { subscriberService: _s, ...rest } = t;
      views.set(key, { ...emptyTriggerMetrics(t.namespace, t.broker, t.name), ...rest, lagHistory: [] });
    }
    for (const m of reading.triggers) {
      const key = `${m.namespace}/${m.name}`;
      const k = views.get(key);
      views.set(key, {
        ...m,
        filter: k?.filter ?? '',
        subscriber: k?.subscriber,
        ...(k?.ready !== undefined ? { ready: k.ready } : {}),
        ...(k?.reason !== undefined ? { reason: k.reason } : {}),
        broker: k?.broker ?? m.broker,
        lagHistory: [],
      });
    }
    await Promise.all([...views.values()].map((v) => this.lag(now, v)));
    return [...views.values()].sort(byKey((t) => `${t.namespace}/${t.broker}/${t.name}`));
  }

  private async lag(now: number, v: TriggerView): Promise<void> {
    const log = this.opts.log;
    let events = v.lagEvents;
    let seconds = v.lagSeconds;
    if (log) {
      try {
        const parts = await log.lag(
          { namespace: v.namespace, name: v.broker },
          triggerConsumerGroup(v.namespace, v.name),
        );
        const gaugeSeconds = seconds;
        events = parts.reduce((a, p) => a + p.events, 0);
        // The Kafka admin view has no record timestamps: keep the source's own seconds then.
        seconds = Math.max(events > 0 ? gaugeSeconds : 0, ...parts.map((p) => p.seconds));
      } catch (err) {
        this.opts.logger.debug({ err, trigger: v.name }, 'lag query failed; using the metrics source');
      }
    }
    v.lagEvents = events;
    v.lagSeconds = seconds;
    const key = `${v.namespace}/${v.name}`;
    const h = this.lagHistory.get(key) ?? [];
    h.push([now, events, seconds]);
    while (h.length > this.opts.points) h.shift();
    this.lagHistory.set(key, h);
    v.lagHistory = h;
  }
}
