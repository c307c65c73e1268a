import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { TributaryError } from '@tributary/shared';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';

/**
 * A Knative Service (serving.knative.dev/v1) as the local runtime understands it: where the function's
 * code is and how it scales. The same service.yaml deploys to Knative Serving unchanged.
 */
export interface ServiceSpec {
  name: string;
  namespace: string;
  /** Folder of the function package (where service.yaml lives). */
  dir: string;
  /** Module that exports handle(): `tributary.dev/function-path` relative to dir, default src/index.ts. */
  functionPath: string;
  /** `autoscaling.knative.dev/min-scale` (default 0: scale to zero). */
  minScale: number;
  /** `autoscaling.knative.dev/max-scale` (default 0 = unlimited in Knative; locally capped at 4). */
  maxScale: number;
  /** `autoscaling.knative.dev/target`: soft concurrency per instance before scaling out (default 100, as Knative). */
  target: number;
  /**
   * How long an idle instance is kept before it is stopped: `scale-to-zero-pod-retention-period` when set,
   * else the stable `window` (Knative default 60s).
   */
  idleMs: number;
  /** Container env from the Service (plain `value`s only; `valueFrom` needs a cluster). */
  env: Record<string, string>;
}

const LOCAL_MAX_SCALE = 4;

const envVar = z.object({ name: z.string(), value: z.string().optional() }).passthrough();
const serviceSchema = z.object({
  apiVersion: z.literal('serving.knative.dev/v1'),
  kind: z.literal('Service'),
  metadata: z.object({
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a lowercase DNS label'),
    namespace: z.string().optional(),
    annotations: z.record(z.string(), z.string()).nullish(),
  }),
  spec: z
    .object({
      template: z
        .object({
          metadata: z
            .object({ annotations: z.record(z.string(), z.string()).nullish() })
            .passthrough()
            .optional(),
          spec: z
            .object({
              containerConcurrency: z.number().int().min(0).optional(),
              containers: z.array(z.object({ env: z.array(envVar).optional() }).passthrough()).optional(),
            })
            .passthrough()
            .optional(),
        })
        .passthrough()
        .optional(),
    })
    .passthrough()
    .optional(),
});

/** Parses a Knative duration annotation ("60s", "1m30s", "500ms", "2h") to milliseconds. */
export function parseDuration(value: string, field: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = '';
  for (const m of value.matchAll(re)) {
    const n = Number(m[1]);
    total += n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    consumed += m[0];
  }
  if (!consumed || consumed !== value.trim())
    throw invalid(`${field}: invalid duration "${value}" (e.g. 30s, 1m, 500ms)`);
  return total;
}

/** A service.yaml the local runtime cannot run: the message names the file, document and field. */
function invalid(message: string): TributaryError {
  return new TributaryError(message, { code: 'RESOURCES_INVALID' });
}

function intAnnotation(a: Record<string, string>, key: string, def: number, where: string): number {
  const v = a[key];
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw invalid(`${where}: annotation ${key} must be a non-negative integer, got "${v}"`);
  return n;
}

/** Reads the Knative Service in `file` (the first document of kind Service). */
export function loadServiceSpec(file: string): ServiceSpec {
  const path = resolve(file);
  const docs = parseAllDocuments(readFileSync(path, 'utf8'));
  for (const [i, doc] of docs.entries()) {
    if (doc.errors.length) throw invalid(`${path} (document ${i + 1}): ${doc.errors[0]?.message}`);
    const raw = doc.toJS() as { kind?: string } | null;
    if (!raw || raw.kind !== 'Service') continue;
    const parsed = serviceSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw invalid(`${path} (document ${i + 1}) ${issue.path.join('.')}: ${issue.message}`);
    }
    const s = parsed.data;
    const where = `${path} (document ${i + 1})`;
    const ann = { ...(s.metadata.annotations ?? {}), ...(s.spec?.template?.metadata?.annotations ?? {}) };
    const maxScale = intAnnotation(ann, 'autoscaling.knative.dev/max-scale', 0, where);
    const minScale = intAnnotation(ann, 'autoscaling.knative.dev/min-scale', 0, where);
    const containerConcurrency = s.spec?.template?.spec?.containerConcurrency ?? 0;
    const target = intAnnotation(ann, 'autoscaling.knative.dev/target', containerConcurrency || 100, where);
    const retention = ann['autoscaling.knative.dev/scale-to-zero-pod-retention-period'];
    const window = ann['autoscaling.knative.dev/window'];
    const idleMs = retention
      ? parseDuration(retention, `${where}: scale-to-zero-pod-retention-period`)
      : window
        ? parseDuration(window, `${where}: window`)
        : 60_000;
    const env: Record<string, string> = {};
    for (const e of s.spec?.template?.spec?.containers?.[0]?.env ?? [])
      if (e.value !== undefined) env[e.name] = e.value;
    const dir = dirname(path);
    const effectiveMax = maxScale === 0 ? LOCAL_MAX_SCALE : maxScale;
    if (minScale > effectiveMax)
      throw invalid(`${where}: min-scale ${minScale} is above max-scale ${effectiveMax}`);
    return {
      name: s.metadata.name,
      namespace: s.metadata.namespace ?? 'default',
      dir,
      functionPath: join(dir, ann['tributary.dev/function-path'] ?? 'src/index.ts'),
      minScale,
      maxScale: effectiveMax,
      target: Math.max(1, target),
      idleMs,
      env,
    };
  }
  throw invalid(`${path}: no Knative Service (serving.knative.dev/v1, kind: Service) found`);
}
