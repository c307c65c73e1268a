// View "functions": each function's scale (0, 1 or N of max), in flight, cold starts and their p50.
import { SERVING_METRICS } from '@tributary/eventing';
import { TributaryError } from '@tributary/shared';
import { request } from 'undici';
import { byKey, label, lifetimeP50, type Match, type Scraped, total } from './series.js';
import type { ClusterView, FunctionView, SourceStatus } from './types.js';

const S = SERVING_METRICS;

/** What the local activator's `GET /services` lists. */
interface ActivatorService {
  namespace: string;
  name: string;
  scale: number;
  inFlight?: number;
  minScale?: number;
  maxScale?: number;
}

/**
 * One-machine mode: the local activator's `GET /services` (scale, in flight, min/max). A failure is reported
 * in `statuses`.
 */
export async function activatorServices(
  urls: readonly string[],
  statuses: SourceStatus[],
  timeoutMs: number,
): Promise<FunctionView[]> {
  const out: FunctionView[] = [];
  for (const url of urls) {
    try {
      const res = await request(`${url.replace(/\/+$/, '')}/services`, {
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new TributaryError(`HTTP ${res.statusCode}`, { code: 'METRICS_SOURCE_FAILED' });
      }
      for (const f of (await res.body.json()) as ActivatorService[]) {
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
      statuses.push({
        kind: 'activator',
        name: `${url}/services`,
        ok: false,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
  return out;
}

/** One-machine mode: the activator's `serving_*` metrics add cold starts (and functions it lists nowhere else). */
export function scrapedFunctions(local: FunctionView[], scrapes: readonly Scraped[]): FunctionView[] {
  const views = new Map<string, FunctionView>();
  for (const f of local) views.set(`${f.namespace}/${f.name}`, f);
  for (const now of scrapes) {
    for (const s of now.samples) {
      const service = s.name === S.instances.name ? label(s, S.instances, 'service') : undefined;
      if (!service) continue;
      const [namespace = '', name = ''] = service.split('/');
      const key = `${namespace}/${name}`;
      if (!views.has(key))
        views.set(key, { namespace, name, scale: s.value, coldStarts: 0, coldStartP50: null });
    }
    for (const v of views.values()) {
      const m = { service: `${v.namespace}/${v.name}` } satisfies Match<typeof S.coldStarts>;
      v.coldStarts += total(now, S.coldStarts, m);
      const q = lifetimeP50(now, S.coldStartSeconds, m);
      if (q !== null) v.coldStartP50 = q;
    }
  }
  return [...views.values()];
}

/** The source's functions, with the Kubernetes API's Knative Services (scale from their Revisions) on top. */
export function functionsView(fromMetrics: FunctionView[], cluster: ClusterView | undefined): FunctionView[] {
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
