// Reading the services' own /metrics (one-machine mode) through the owners' metric vocabulary: every query
// names a `MetricDef` exported by the package that registers it (@tributary/eventing, @tributary/db-events),
// and its label matchers are checked against that metric's labels at compile time.
import type { LabelOf, MetricDef } from '@tributary/shared';
import { bucketDelta, buckets, histogramQuantile, matches, type Sample, sum } from '../prometheus.js';

/** One scrape of a service's /metrics. */
export interface Scraped {
  at: number;
  samples: Sample[];
}

/** The latest scrape of a source and the one at the start of the rate window (the same one at first). */
export interface ScrapeWindow {
  now: Scraped;
  base: Scraped;
}

/** Label matchers of a metric: only the labels its owner declares. */
export type Match<M extends MetricDef> = Partial<Record<LabelOf<M>, string>>;

/** A sample's value of one of the metric's labels. */
export function label<M extends MetricDef>(s: Sample, _m: M, name: LabelOf<M>): string | undefined {
  return s.labels[name];
}

/** The samples of a metric (its plain series: a counter's or gauge's). */
export function samplesOf(scrape: Scraped, m: MetricDef): Sample[] {
  return scrape.samples.filter((s) => s.name === m.name);
}

export function has(scrape: Scraped, m: MetricDef): boolean {
  return scrape.samples.some((s) => s.name === m.name);
}

/** Sum of the metric's series matching `match` (and `where`). */
export function total<M extends MetricDef>(
  scrape: Scraped,
  m: M,
  match: Match<M> = {},
  where?: (s: Sample) => boolean,
): number {
  const all = scrape.samples;
  const samples = where ? all.filter((s) => s.name === m.name && where(s)) : all;
  return sum(samples, m.name, match as Record<string, string>);
}

/** Largest value of the metric's series matching `match` (0 when none). */
export function maxOf<M extends MetricDef>(scrape: Scraped, m: M, match: Match<M> = {}): number {
  let out = 0;
  for (const s of scrape.samples)
    if (s.name === m.name && matches(s.labels, match as Record<string, string>) && s.value > out)
      out = s.value;
  return out;
}

/** Per-second increase of a counter over the window (a reset counts the new value). */
export function rate<M extends MetricDef>(
  w: ScrapeWindow,
  m: M,
  match: Match<M> = {},
  where?: (s: Sample) => boolean,
): number {
  const dt = (w.now.at - w.base.at) / 1000;
  if (dt <= 0) return 0;
  const now = total(w.now, m, match, where);
  const d = now - total(w.base, m, match, where);
  return (d < 0 ? now : d) / dt;
}

/**
 * p50 and p99 of a histogram over the window, as PromQL's `histogram_quantile` computes them; over the whole
 * lifetime when nothing was observed in the window; null when empty.
 */
export function quantiles<M extends MetricDef>(
  w: ScrapeWindow,
  m: M,
  match: Match<M> = {},
): { p50: number | null; p99: number | null } {
  const l = match as Record<string, string>;
  const now = buckets(w.now.samples, m.name, l);
  const windowed = bucketDelta(now, w.base === w.now ? undefined : buckets(w.base.samples, m.name, l));
  const use = [...windowed.values()].some((c) => c > 0) ? windowed : now;
  const q = (x: number) => {
    const v = histogramQuantile(x, use);
    return Number.isNaN(v) ? null : v;
  };
  return { p50: q(0.5), p99: q(0.99) };
}

/** The p50 of a histogram since the start, or null. */
export function lifetimeP50<M extends MetricDef>(scrape: Scraped, m: M, match: Match<M> = {}): number | null {
  const v = histogramQuantile(0.5, buckets(scrape.samples, m.name, match as Record<string, string>));
  return Number.isNaN(v) ? null : v;
}

export const byKey =
  <T>(key: (x: T) => string) =>
  (a: T, b: T) =>
    key(a).localeCompare(key(b));
