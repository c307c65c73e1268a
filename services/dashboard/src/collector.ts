import type { BrokerLog, DeadLetterStore, LoadedResources } from '@tributary/eventing';
import type { Logger } from '@tributary/shared';
import type { Registry } from 'prom-client';
import { request } from 'undici';
import { describeFilter } from './filters.js';
import {
  bucketDelta,
  buckets,
  histogramQuantile,
  parsePrometheusText,
  type Sample,
  sum,
} from './prometheus.js';

/** Where a service's metrics come from: its base URL (`<url>/metrics`) or, in process, its registry. */
export interface MetricsSource {
  kind: 'broker' | 'activator' | 'db-events' | 'other';
  /** Display name (default: the URL). */
  name?: string;
  url?: string;
  registry?: Registry;
  /**
   * While the service is still coming up, what it is doing, e.g. `storage: starting (building MinIO, 42%)`:
   * it is then shown as information, not scraped and not reported as down.
   */
  starting?: () => string | undefined;
}

/** What the Kubernetes API adds (see kubernetes.ts); the local platform has none. */
export interface ClusterView {
  /** Brokers (so that one without traffic is listed too). */
  brokers?: { namespace: string; name: string; ready?: boolean | undefined; reason?: string | undefined }[];
  triggers: {
    namespace: string;
    name: string;
    broker: string;
    filter: string;
    subscriber?: string | undefined;
    ready?: boolean | undefined;
    reason?: string | undefined;
  }[];
  services: {
    namespace: string;
    name: string;
    scale: number;
    minScale?: number | undefined;
    maxScale?: number | undefined;
    ready?: boolean | undefined;
  }[];
}

export interface CollectorOptions {
  sources: MetricsSource[];
  logger: Logger;
  /** Local Broker/Trigger resources: Trigger filters and subscribers. */
  resources?: LoadedResources | undefined;
  /** Lag straight from the log (Kafka admin / Postgres), fresher than the broker's lag gauges. */
  log?: BrokerLog | undefined;
  deadLetters?: DeadLetterStore | undefined;
  cluster?: (() => Promise<ClusterView>) | undefined;
  /** Window of the rates and latency quantiles (default 30 s). */
  windowMs?: number;
  /** Points kept for a trend (default 60). */
  historyPoints?: number;
  /** safe_wal_size below this warns (default 1 GiB). */
  safeWalWarnBytes?: number;
  scrapeTimeoutMs?: number;
  /**
   * Where the numbers come from (default: {@link ScrapedMetrics} over `sources`); e.g. `PrometheusMetrics`
   * from prometheus-source.ts on Kubernetes.
   */
  metrics?: PlatformMetrics | undefined;
}

export interface SourceStatus {
  kind: MetricsSource['kind'];
  name: string;
  ok: boolean;
  error?: string;
  /** Set while the service is starting (see MetricsSource.starting). */
  starting?: string;
}

export interface BrokerView {
  namespace: string;
  name: string;
  /** Accepted events (202) per second, and in total since the broker started. */
  ingressRate: number;
  accepted: number;
  /** Rejections by status code: total and per second. */
  rejections: { statusCode: string; total: number; rate: number }[];
}

export interface TriggerView {
  namespace: string;
  broker: string;
  name: string;
  filter: string;
  subscriber?: string | undefined;
  ready?: boolean | undefined;
  reason?: string | undefined;
  delivered: number;
  failed: number;
  deadLettered: number;
  deliveredRate: number;
  failedRate: number;
  retryRate: number;
  inFlight: number;
  /** Dispatch latency (seconds) over the window, or since start when nothing was dispatched in it. */
  p50: number | null;
  p99: number | null;
  lagEvents: number;
  lagSeconds: number;
  /** [time ms, lag events, lag seconds], oldest first. */
  lagHistory: [number, number, number][];
}

export interface FunctionView {
  namespace: string;
  name: string;
  scale: number;
  minScale?: number | undefined;
  maxScale?: number | undefined;
  inFlight?: number | undefined;
  coldStarts: number;
  coldStartP50: number | null;
  ready?: boolean | undefined;
}

export interface SlotView {
  source: string;
  connected: boolean | null;
  lagBytes: number | null;
  lagSeconds: number | null;
  walStatus: string | null;
  /** Bytes of WAL that can still be written before the slot is lost; null = unlimited. */
  safeWalSize: number | null;
  level: 'ok' | 'warning' | 'critical';
  warnings: string[];
}

export interface Snapshot {
  at: number;
  sources: SourceStatus[];
  brokers: BrokerView[];
  triggers: TriggerView[];
  functions: FunctionView[];
  slots: SlotView[];
  deadLetters: DeadLetterCount[] | null;
}

/** A Trigger the collector knows of (from YAML, the Kubernetes API or the metrics themselves). */
export interface TriggerRef {
  namespace: string;
  broker: string;
  name: string;
  /** The Knative Service the Trigger delivers to (`subscriber.ref` of kind Service), if any. */
  subscriberService?: string | undefined;
}

/** The numbers of one Trigger that a metrics source reports. */
export type TriggerMetrics = Omit<TriggerView, 'filter' | 'subscriber' | 'ready' | 'reason' | 'lagHistory'>;

export interface DeadLetterCount {
  namespace: string;
  broker: string;
  pending: number;
  total: number;
}

/** What a metrics source reports on one tick: the numbers behind every panel. */
export interface PlatformReading {
  sources: SourceStatus[];
  brokers: BrokerView[];
  triggers: TriggerMetrics[];
  functions: FunctionView[];
  /** Before `assessSlot` (level and warnings are the collector's). */
  slots: SlotView[];
  /** Dead letters the source can count itself (e.g. a KafkaSink seen through Prometheus), else null. */
  deadLetters: DeadLetterCount[] | null;
}

/**
 * Where the dashboard's numbers come from. Two implementations: {@link ScrapedMetrics} (the Tributary
 * broker's, activator's and db-events' own /metrics: one machine) and `PrometheusMetrics`
 * (prometheus-source.ts: a Prometheus server's query API with the Knative Kafka Broker's, Kafka Exporter's
 * and Knative Serving's metric names: Kubernetes).
 */
export interface PlatformMetrics {
  readonly mode: 'broker-metrics' | 'prometheus';
  read(now: number, triggers: readonly TriggerRef[]): Promise<PlatformReading>;
}

interface Scraped {
  at: number;
  samples: Sample[];
}

/**
 * The one-machine source: scrapes every service's /metrics on each `read()`, keeps a short history per
 * source and turns counters into rates over a window (counter resets handled), histograms into p50/p99.
 */
export class ScrapedMetrics implements PlatformMetrics {
  readonly mode = 'broker-metrics' as const;
  private readonly history = new Map<MetricsSource, Scraped[]>();

  constructor(
    private readonly sources: readonly MetricsSource[],
    private readonly windowMs = 30_000,
    private readonly scrapeTimeoutMs = 3000,
  ) {}

  async read(now: number): Promise<PlatformReading> {
    const statuses = await Promise.all(this.sources.map((s) => this.scrape(s, now)));
    const functions = await this.activatorServices(statuses);
    return {
      sources: statuses,
      brokers: this.brokers(),
      triggers: this.triggers(),
      functions: this.functions(functions),
      slots: this.slots(),
      deadLetters: null,
    };
  }

  private async scrape(source: MetricsSource, now: number): Promise<SourceStatus> {
    const name = source.name ?? source.url ?? source.kind;
    const starting = source.starting?.();
    if (starting) return { kind: source.kind, name, ok: false, starting };
    try {
      let text: string;
      if (source.registry) text = await source.registry.metrics();
      else if (source.url) {
        const res = await request(`${source.url.replace(/\/+$/, '')}/metrics`, {
          headersTimeout: this.scrapeTimeoutMs,
          bodyTimeout: this.scrapeTimeoutMs,
        });
        text = await res.body.text();
        if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
      } else throw new Error('no url or registry');
      const { samples } = parsePrometheusText(text);
      const h = this.history.get(source) ?? [];
      h.push({ at: now, samples });
      // Keep one scrape older than the window as the rate's base.
      while (h.length > 2 && h[1]!.at <= now - this.windowMs) h.shift();
      this.history.set(source, h);
      return { kind: source.kind, name, ok: true };
    } catch (err) {
      return { kind: source.kind, name, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  private latest(kind: MetricsSource['kind']): { source: MetricsSource; now: Scraped; base: Scraped }[] {
    const out = [];
    for (const s of this.sources) {
      if (s.kind !== kind) continue;
      const h = this.history.get(s);
      if (!h || h.length === 0) continue;
      out.push({ source: s, now: h[h.length - 1]!, base: h[0]! });
    }
    return out;
  }

  /** Per-second increase of a counter between two scrapes (a reset counts the new value). */
  private static rate(
    now: Scraped,
    base: Scraped,
    name: string,
    match: Record<string, string>,
    filter?: (s: Sample) => boolean,
  ): number {
    const dt = (now.at - base.at) / 1000;
    if (dt <= 0) return 0;
    const total = (x: Scraped) =>
      filter ? sumWhere(x.samples, name, match, filter) : sum(x.samples, name, match);
    const d = total(now) - total(base);
    return (d < 0 ? total(now) : d) / dt;
  }

  private brokers(): BrokerView[] {
    const views = new Map<string, BrokerView>();
    const view = (namespace: string, name: string) => {
      const key = `${namespace}/${name}`;
      let v = views.get(key);
      if (!v) {
        v = { namespace, name, ingressRate: 0, accepted: 0, rejections: [] };
        views.set(key, v);
      }
      return v;
    };
    const metric = 'tributary_broker_ingress_events_total';
    for (const { now, base } of this.latest('broker')) {
      const codes = new Map<string, Set<string>>();
      for (const s of now.samples) {
        if (s.name !== metric) continue;
        const key = `${s.labels.namespace}/${s.labels.broker}`;
        view(s.labels.namespace ?? '', s.labels.broker ?? '');
        const set = codes.get(key) ?? new Set<string>();
        set.add(s.labels.status_code ?? '');
        codes.set(key, set);
      }
      for (const [key, set] of codes) {
        const [namespace = '', name = ''] = key.split('/');
        const v = view(namespace, name);
        const m = { namespace, broker: name };
        for (const code of set) {
          const total = sum(now.samples, metric, { ...m, status_code: code });
          const rate = ScrapedMetrics.rate(now, base, metric, { ...m, status_code: code });
          if (code === '202') {
            v.accepted += total;
            v.ingressRate += rate;
          } else {
            const r = v.rejections.find((x) => x.statusCode === code);
            if (r) {
              r.total += total;
              r.rate += rate;
            } else v.rejections.push({ statusCode: code, total, rate });
          }
        }
        v.rejections.sort((a, b) => a.statusCode.localeCompare(b.statusCode));
      }
    }
    return [...views.values()];
  }

  private triggers(): TriggerMetrics[] {
    const views = new Map<string, TriggerMetrics>();
    for (const { now: cur, base } of this.latest('broker')) {
      const seen = new Set<string>();
      for (const s of cur.samples) {
        if (!s.name.startsWith('tributary_trigger_') || !s.labels.trigger) continue;
        const key = `${s.labels.namespace}/${s.labels.broker}/${s.labels.trigger}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const ns = s.labels.namespace ?? '';
        let v = views.get(`${ns}/${s.labels.trigger}`);
        if (!v) {
          v = emptyTriggerMetrics(ns, s.labels.broker ?? '', s.labels.trigger);
          views.set(`${ns}/${s.labels.trigger}`, v);
        }
        const m = { namespace: v.namespace, broker: v.broker, trigger: v.name };
        const sub = { ...m, destination: 'subscriber' };
        const ok = (x: Sample) => /^2/.test(x.labels.status_code ?? '');
        const bad = (x: Sample) => !ok(x);
        const d = 'tributary_trigger_events_dispatched_total';
        v.delivered += sumWhere(cur.samples, d, sub, ok);
        v.failed += sumWhere(cur.samples, d, sub, bad);
        v.deliveredRate += ScrapedMetrics.rate(cur, base, d, sub, ok);
        v.failedRate += ScrapedMetrics.rate(cur, base, d, sub, bad);
        v.retryRate += ScrapedMetrics.rate(cur, base, 'tributary_trigger_retries_total', sub);
        v.deadLettered += sum(cur.samples, 'tributary_trigger_dead_letters_total', m);
        v.inFlight += sum(cur.samples, 'tributary_trigger_in_flight', m);
        const hNow = buckets(cur.samples, 'tributary_trigger_dispatch_latency_seconds', sub);
        const windowed = bucketDelta(
          hNow,
          base === cur ? undefined : buckets(base.samples, 'tributary_trigger_dispatch_latency_seconds', sub),
        );
        const use = [...windowed.values()].some((c) => c > 0) ? windowed : hNow;
        const p50 = histogramQuantile(0.5, use);
        const p99 = histogramQuantile(0.99, use);
        v.p50 = Number.isNaN(p50) ? null : p50;
        v.p99 = Number.isNaN(p99) ? null : p99;
        v.lagEvents += sum(cur.samples, 'tributary_trigger_lag_events', m);
        v.lagSeconds = Math.max(v.lagSeconds, maxOf(cur.samples, 'tributary_trigger_lag_seconds', m));
      }
    }
    return [...views.values()];
  }

  private async activatorServices(statuses: SourceStatus[]): Promise<FunctionView[]> {
    const out: FunctionView[] = [];
    for (const s of this.sources) {
      if (s.kind !== 'activator' || !s.url) continue;
      try {
        const res = await request(`${s.url.replace(/\/+$/, '')}/services`, {
          headersTimeout: this.scrapeTimeoutMs,
          bodyTimeout: this.scrapeTimeoutMs,
        });
        if (res.statusCode !== 200) {
          await res.body.dump();
          throw new Error(`HTTP ${res.statusCode}`);
        }
        const list = (await res.body.json()) as {
          namespace: string;
          name: string;
          scale: number;
          inFlight?: number;
          minScale?: number;
          maxScale?: number;
        }[];
        for (const f of list) {
          out.push({
            namespace: f.namespace,
            name: f.name,
            scale: f.scale,
            inFlight: f.inFlight,
            minScale: f.minScale,
            maxScale: f.maxScale,
            coldStarts: 0,
            coldStartP50: null,
          });
        }
      } catch (err) {
        statuses.push({ kind: 'activator', name: `${s.url}/services`, ok: false, error: String(err) });
      }
    }
    return out;
  }

  private functions(local: FunctionView[]): FunctionView[] {
    const views = new Map<string, FunctionView>();
    for (const f of local) views.set(`${f.namespace}/${f.name}`, f);
    for (const { now } of this.latest('activator')) {
      for (const s of now.samples) {
        if (s.name !== 'serving_instances' || !s.labels.service) continue;
        const [namespace = '', name = ''] = s.labels.service.split('/');
        const key = `${namespace}/${name}`;
        if (!views.has(key))
          views.set(key, { namespace, name, scale: s.value, coldStarts: 0, coldStartP50: null });
      }
      for (const v of views.values()) {
        const m = { service: `${v.namespace}/${v.name}` };
        v.coldStarts += sum(now.samples, 'serving_cold_starts_total', m);
        const q = histogramQuantile(0.5, buckets(now.samples, 'serving_cold_start_seconds', m));
        if (!Number.isNaN(q)) v.coldStartP50 = q;
      }
    }
    return [...views.values()];
  }

  private slots(): SlotView[] {
    return this.latest('db-events').map(({ source, now }) => {
      const has = (n: string) => now.samples.some((s) => s.name === n);
      const walStatus =
        now.samples.find((s) => s.name === 'db_events_slot_wal_status' && s.value === 1)?.labels.status ??
        null;
      const safe = has('db_events_slot_safe_wal_size_bytes')
        ? sum(now.samples, 'db_events_slot_safe_wal_size_bytes')
        : null;
      return {
        source: source.name ?? source.url ?? 'db-events',
        connected: has('db_events_replication_connected')
          ? sum(now.samples, 'db_events_replication_connected') === 1
          : null,
        lagBytes: has('db_events_replication_lag_bytes')
          ? sum(now.samples, 'db_events_replication_lag_bytes')
          : null,
        lagSeconds: has('db_events_replication_lag_seconds')
          ? sum(now.samples, 'db_events_replication_lag_seconds')
          : null,
        walStatus,
        safeWalSize: safe === null || safe < 0 ? null : safe,
        level: 'ok',
        warnings: [],
      };
    });
  }
}

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

type KnownTrigger = TriggerRef & Pick<TriggerView, 'filter' | 'subscriber' | 'ready' | 'reason'>;

const byKey =
  <T>(key: (x: T) => string) =>
  (a: T, b: T) =>
    key(a).localeCompare(key(b));

/**
 * Reads the platform's numbers from one {@link PlatformMetrics} source on each `tick()` and adds what the
 * rest of the platform knows: Trigger filters, subscribers and readiness (YAML or the Kubernetes API),
 * Knative Services' scale from their Revisions, lag straight from the log, the dead-letter store's counts,
 * and a lag trend per Trigger.
 */
export class Collector {
  private readonly lagHistory = new Map<string, [number, number, number][]>();
  private readonly points: number;
  readonly metrics: PlatformMetrics;

  constructor(private readonly opts: CollectorOptions) {
    this.points = opts.historyPoints ?? 60;
    this.metrics =
      opts.metrics ?? new ScrapedMetrics(opts.sources, opts.windowMs ?? 30_000, opts.scrapeTimeoutMs ?? 3000);
  }

  async tick(now = Date.now()): Promise<Snapshot> {
    const extra: SourceStatus[] = [];
    const [cluster, deadLetters] = await Promise.all([
      this.opts.cluster?.().catch((err: unknown) => {
        this.opts.logger.warn({ err }, 'Kubernetes API unavailable');
        extra.push({ kind: 'other', name: 'kubernetes', ok: false, error: String(err) });
        return undefined;
      }),
      this.opts.deadLetters?.counts().catch((err: unknown) => {
        extra.push({ kind: 'other', name: 'dead-letters', ok: false, error: String(err) });
        return null;
      }) ?? Promise.resolve(null),
    ]);
    const known = this.knownTriggers(cluster);
    let reading: PlatformReading;
    try {
      reading = await this.metrics.read(now, [...known.values()]);
    } catch (err) {
      reading = {
        sources: [{ kind: 'other', name: this.metrics.mode, ok: false, error: String(err) }],
        brokers: [],
        triggers: [],
        functions: [],
        slots: [],
        deadLetters: null,
      };
    }
    const warnAt = this.opts.safeWalWarnBytes ?? 1024 ** 3;
    return {
      at: now,
      sources: [...reading.sources, ...extra],
      brokers: this.brokers(reading, cluster),
      triggers: await this.triggers(now, reading, known),
      functions: this.functions(reading.functions, cluster),
      slots: reading.slots.map((s) => assessSlot(s, warnAt)),
      deadLetters: mergeDeadLetters(deadLetters ?? null, reading.deadLetters),
    };
  }

  /** Triggers from the YAML and the Kubernetes API, with what they deliver to. */
  private knownTriggers(cluster: ClusterView | undefined): Map<string, KnownTrigger> {
    const out = new Map<string, KnownTrigger>();
    for (const t of this.opts.resources?.triggers ?? []) {
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

  private brokers(reading: PlatformReading, cluster: ClusterView | undefined): BrokerView[] {
    const views = new Map<string, BrokerView>();
    for (const b of [...(this.opts.resources?.brokers ?? []), ...(cluster?.brokers ?? [])])
      views.set(`${b.namespace}/${b.name}`, {
        namespace: b.namespace,
        name: b.name,
        ingressRate: 0,
        accepted: 0,
        rejections: [],
      });
    for (const b of reading.brokers) views.set(`${b.namespace}/${b.name}`, b);
    return [...views.values()].sort(byKey((b) => `${b.namespace}/${b.name}`));
  }

  private async triggers(
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
    const log = this.opts.log;
    await Promise.all(
      [...views.values()].map(async (v) => {
        let events = v.lagEvents;
        let seconds = v.lagSeconds;
        if (log) {
          try {
            const parts = await log.lag(
              { namespace: v.namespace, name: v.broker },
              `knative-trigger-${v.namespace}-${v.name}`,
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
        while (h.length > this.points) h.shift();
        this.lagHistory.set(key, h);
        v.lagHistory = h;
      }),
    );
    return [...views.values()].sort(byKey((t) => `${t.namespace}/${t.broker}/${t.name}`));
  }

  /** The source's functions, with the Kubernetes API's Knative Services (scale from their Revisions) on top. */
  private functions(fromMetrics: FunctionView[], cluster: ClusterView | undefined): FunctionView[] {
    const views = new Map<string, FunctionView>();
    for (const f of fromMetrics) views.set(`${f.namespace}/${f.name}`, f);
    for (const s of cluster?.services ?? []) {
      const key = `${s.namespace}/${s.name}`;
      const m = views.get(key);
      views.set(key, {
        ...s,
        coldStarts: m?.coldStarts ?? 0,
        coldStartP50: m?.coldStartP50 ?? null,
        ...(m?.inFlight !== undefined ? { inFlight: m.inFlight } : {}),
      });
    }
    return [...views.values()].sort(byKey((f) => `${f.namespace}/${f.name}`));
  }
}

function mergeDeadLetters(
  store: DeadLetterCount[] | null,
  fromMetrics: DeadLetterCount[] | null,
): DeadLetterCount[] | null {
  if (!store && !fromMetrics) return null;
  const out = new Map<string, DeadLetterCount>();
  for (const d of [...(store ?? []), ...(fromMetrics ?? [])]) {
    const key = `${d.namespace}/${d.broker}`;
    const m = out.get(key);
    if (m) out.set(key, { ...m, pending: m.pending + d.pending, total: m.total + d.total });
    else out.set(key, { ...d });
  }
  return [...out.values()].sort(byKey((d) => `${d.namespace}/${d.broker}`));
}

/**
 * Slot health, from worst to mildest (PostgreSQL docs, pg_replication_slots.wal_status): `lost` (WAL the slot
 * needs was removed: events were missed), `unreserved` (past max_slot_wal_keep_size: lost at the next
 * checkpoint), `extended` (past max_wal_size, still kept), and safe_wal_size under the threshold.
 */
export function assessSlot(v: SlotView, warnAtBytes: number): SlotView {
  const warnings: string[] = [];
  let level: SlotView['level'] = 'ok';
  const raise = (l: SlotView['level'], msg: string) => {
    warnings.push(msg);
    if (l === 'critical' || level === 'ok') level = l;
  };
  if (v.walStatus === 'lost')
    raise('critical', 'slot lost: Postgres removed WAL it needed; changes were missed — recreate the slot');
  else if (v.walStatus === 'unreserved')
    raise('critical', 'WAL at risk: past max_slot_wal_keep_size, it will be removed at the next checkpoint');
  else if (v.walStatus === 'extended') raise('warning', 'slot retains WAL beyond max_wal_size');
  if (v.safeWalSize !== null && v.safeWalSize < warnAtBytes && v.walStatus !== 'lost') {
    raise(
      v.safeWalSize <= 0 ? 'critical' : 'warning',
      `only ${formatBytes(v.safeWalSize)} of WAL left before the slot is lost`,
    );
  }
  if (v.connected === false) raise('warning', 'replication stream disconnected');
  return { ...v, level, warnings };
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let x = n;
  while (Math.abs(x) >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function sumWhere(
  samples: readonly Sample[],
  name: string,
  match: Record<string, string>,
  where: (s: Sample) => boolean,
): number {
  return sum(
    samples.filter((s) => s.name === name && where(s)),
    name,
    match,
  );
}

function maxOf(samples: readonly Sample[], name: string, match: Record<string, string>): number {
  let m = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v) && s.value > m) m = s.value;
  }
  return m;
}
