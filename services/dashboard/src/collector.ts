// The dashboard's collector: on each tick, reads the numbers from one metrics source (ScrapedMetrics on one
// machine, PrometheusMetrics on Kubernetes) and builds one view per part of the page. Each view lives in its
// own module under src/views/ (types.ts holds the snapshot they make up); to add a view, add a module there,
// a field to `Snapshot`, and one line to `tick()` below.
import type { BrokerLog, DeadLetterStore, LoadedResources } from '@tributary/eventing';
import type { Logger } from '@tributary/shared';
import { type MetricsSource, ScrapedMetrics } from './scraped-metrics.js';
import { brokersView } from './views/brokers.js';
import { deadLettersView } from './views/dead-letters.js';
import { functionsView } from './views/functions.js';
import { assessSlot } from './views/slots.js';
import { knownTriggers, TriggersView } from './views/triggers.js';
import type { ClusterView, PlatformMetrics, PlatformReading, Snapshot, SourceStatus } from './views/types.js';

export { type MetricsSource, ScrapedMetrics } from './scraped-metrics.js';
export { emptyBrokerView } from './views/brokers.js';
export { assessSlot } from './views/slots.js';
export { emptyTriggerMetrics } from './views/triggers.js';
export type * from './views/types.js';

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

/**
 * Reads the platform's numbers from one {@link PlatformMetrics} source on each `tick()` and adds what the
 * rest of the platform knows: Trigger filters, subscribers and readiness (YAML or the Kubernetes API),
 * Knative Services' scale from their Revisions, lag straight from the log, the dead-letter store's counts,
 * and a lag trend per Trigger.
 */
export class Collector {
  readonly metrics: PlatformMetrics;
  private readonly triggers: TriggersView;

  constructor(private readonly opts: CollectorOptions) {
    this.metrics =
      opts.metrics ?? new ScrapedMetrics(opts.sources, opts.windowMs ?? 30_000, opts.scrapeTimeoutMs ?? 3000);
    this.triggers = new TriggersView({
      log: opts.log,
      logger: opts.logger,
      points: opts.historyPoints ?? 60,
    });
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
    const known = knownTriggers(this.opts.resources, cluster);
    const reading = await this.read(now, known);
    const warnAt = this.opts.safeWalWarnBytes ?? 1024 ** 3;
    return {
      at: now,
      sources: [...reading.sources, ...extra],
      brokers: brokersView(reading.brokers, [
        ...(this.opts.resources?.brokers ?? []),
        ...(cluster?.brokers ?? []),
      ]),
      triggers: await this.triggers.build(now, reading, known),
      functions: functionsView(reading.functions, cluster),
      slots: reading.slots.map((s) => assessSlot(s, warnAt)),
      deadLetters: deadLettersView(deadLetters ?? null, reading.deadLetters),
    };
  }

  private async read(now: number, known: ReturnType<typeof knownTriggers>): Promise<PlatformReading> {
    try {
      return await this.metrics.read(now, [...known.values()]);
    } catch (err) {
      return {
        sources: [{ kind: 'other', name: this.metrics.mode, ok: false, error: String(err) }],
        brokers: [],
        triggers: [],
        functions: [],
        slots: [],
        deadLetters: null,
      };
    }
  }
}
