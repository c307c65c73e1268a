/**
 * A small parser for the Prometheus text exposition format (0.0.4), enough for what prom-client serves:
 * `# TYPE` lines, samples `name{label="value",...} value [timestamp]`, escaped label values (`\\`, `\"`,
 * `\n`), and the special values `NaN`, `+Inf`, `-Inf`.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  samples: Sample[];
  types: Map<string, MetricType>;
}

export class PrometheusParseError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'PrometheusParseError';
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

export function parsePrometheusText(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, MetricType>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s*TYPE\s+(\S+)\s+(\S+)/.exec(line);
      if (m) types.set(m[1]!, (m[2] as MetricType) ?? 'untyped');
      continue;
    }
    samples.push(parseSample(line, i + 1));
  }
  return { samples, types };
}

function parseSample(line: string, lineNo: number): Sample {
  const nameMatch = NAME.exec(line);
  if (!nameMatch) throw new PrometheusParseError(`expected a metric name: ${line.slice(0, 80)}`, lineNo);
  const name = nameMatch[0];
  let pos = name.length;
  const labels: Record<string, string> = {};
  if (line[pos] === '{') {
    pos++;
    for (;;) {
      while (line[pos] === ' ' || line[pos] === ',') pos++;
      if (line[pos] === '}') {
        pos++;
        break;
      }
      const lm = NAME.exec(line.slice(pos));
      if (!lm) throw new PrometheusParseError('expected a label name', lineNo);
      const label = lm[0];
      pos += label.length;
      if (line[pos] !== '=' || line[pos + 1] !== '"') throw new PrometheusParseError('expected ="', lineNo);
      pos += 2;
      let value = '';
      for (;;) {
        const c = line[pos];
        if (c === undefined) throw new PrometheusParseError('unterminated label value', lineNo);
        pos++;
        if (c === '"') break;
        if (c === '\\') {
          const n = line[pos++];
          value += n === 'n' ? '\n' : (n ?? '');
        } else value += c;
      }
      labels[label] = value;
    }
  }
  const rest = line.slice(pos).trim().split(/\s+/);
  const value = parseValue(rest[0] ?? '');
  if (value === undefined) throw new PrometheusParseError(`bad value "${rest[0] ?? ''}"`, lineNo);
  return { name, labels, value };
}

function parseValue(s: string): number | undefined {
  if (s === 'NaN') return Number.NaN;
  if (s === '+Inf' || s === 'Inf') return Number.POSITIVE_INFINITY;
  if (s === '-Inf') return Number.NEGATIVE_INFINITY;
  if (s === '') return undefined;
  const n = Number(s);
  return Number.isNaN(n) ? undefined : n;
}

/** Sum of the samples of `name` whose labels include `match`. */
export function sum(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  let total = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (!matches(s.labels, match)) continue;
    if (Number.isFinite(s.value)) total += s.value;
  }
  return total;
}

export function matches(labels: Record<string, string>, match: Record<string, string>): boolean {
  for (const k in match) if (labels[k] !== match[k]) return false;
  return true;
}

/** Cumulative histogram buckets (`le` -> count) of `name` summed over the series matching `match`. */
export function buckets(
  samples: readonly Sample[],
  name: string,
  match: Record<string, string> = {},
): Map<number, number> {
  const out = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || !matches(s.labels, match)) continue;
    const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
    out.set(le, (out.get(le) ?? 0) + s.value);
  }
  return out;
}

/**
 * The q-quantile of cumulative histogram buckets, as PromQL's `histogram_quantile` computes it (linear
 * interpolation inside the bucket; the +Inf bucket answers the highest finite bound). NaN when empty.
 */
export function histogramQuantile(q: number, cumulative: Map<number, number>): number {
  const bounds = [...cumulative.keys()].sort((a, b) => a - b);
  if (bounds.length === 0) return Number.NaN;
  const total = cumulative.get(bounds[bounds.length - 1]!) ?? 0;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const b of bounds) {
    const c = cumulative.get(b) ?? 0;
    if (c >= rank) {
      if (b === Number.POSITIVE_INFINITY) return prevBound;
      if (c === prevCount) return b;
      return prevBound + ((b - prevBound) * (rank - prevCount)) / (c - prevCount);
    }
    prevBound = b;
    prevCount = c;
  }
  return prevBound;
}

/** Bucket-wise difference of two cumulative histograms (for a quantile over a time window). */
export function bucketDelta(
  now: Map<number, number>,
  before: Map<number, number> | undefined,
): Map<number, number> {
  if (!before) return now;
  const out = new Map<number, number>();
  for (const [le, c] of now) {
    const d = c - (before.get(le) ?? 0);
    // A counter reset (the process restarted): use the new counts as they are.
    if (d < 0) return now;
    out.set(le, d);
  }
  return out;
}
