// The one-machine metrics source: the Tributary broker's, the local activator's and db-events' own /metrics.
import { TributaryError } from '@tributary/shared';
import type { Registry } from 'prom-client';
import { request } from 'undici';
import { parsePrometheusText } from './prometheus.js';
import { scrapedBrokers } from './views/brokers.js';
import { activatorServices, scrapedFunctions } from './views/functions.js';
import type { Scraped, ScrapeWindow } from './views/series.js';
import { scrapedSlots } from './views/slots.js';
import { scrapedTriggers } from './views/triggers.js';
import type { PlatformMetrics, PlatformReading, SourceKind, SourceStatus } from './views/types.js';

/** Where a service's metrics come from: its base URL (`<url>/metrics`) or, in process, its registry. */
export interface MetricsSource {
  kind: SourceKind;
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

/**
 * The one-machine source: scrapes every service's /metrics on each `read()`, keeps a short history per
 * source and turns counters into rates over a window (counter resets handled), histograms into p50/p99. Each
 * view module (src/views/) reads its numbers from the scrapes.
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
    const activators = this.sources.flatMap((s) => (s.kind === 'activator' && s.url ? [s.url] : []));
    const local = await activatorServices(activators, statuses, this.scrapeTimeoutMs);
    const brokers = this.windows('broker');
    return {
      sources: statuses,
      brokers: scrapedBrokers(brokers),
      triggers: scrapedTriggers(brokers),
      functions: scrapedFunctions(
        local,
        this.windows('activator').map((w) => w.now),
      ),
      slots: scrapedSlots(
        this.windows('db-events').map((w) => ({
          name: w.source.name ?? w.source.url ?? 'db-events',
          now: w.now,
        })),
      ),
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
        if (res.statusCode !== 200)
          throw new TributaryError(`HTTP ${res.statusCode}`, { code: 'METRICS_SOURCE_FAILED' });
      } else throw new TributaryError('no url or registry', { code: 'CONFIG_INVALID' });
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

  /** The latest scrape and the rate window's base of every source of a kind that was scraped. */
  private windows(kind: SourceKind): (ScrapeWindow & { source: MetricsSource })[] {
    const out = [];
    for (const s of this.sources) {
      if (s.kind !== kind) continue;
      const h = this.history.get(s);
      if (!h || h.length === 0) continue;
      out.push({ source: s, now: h[h.length - 1]!, base: h[0]! });
    }
    return out;
  }
}
