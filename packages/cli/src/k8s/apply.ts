import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError } from '@tributary/shared';
import type { Cluster } from './client.js';
import { applyRank, describe, inApplyOrder, type K8sObject } from './manifests.js';
import { readinessOf } from './readiness.js';

export interface ApplyOptions {
  /** Field manager of the server-side apply (default `tributary`). */
  fieldManager?: string;
  /** Wait for readiness after applying (default true). */
  wait?: boolean;
  /** Longest wait for readiness, in ms (default 10 minutes). */
  timeoutMs?: number;
  /** Readiness poll interval, in ms (default 2000). */
  pollMs?: number;
  /** Progress lines. */
  progress: (line: string) => void;
}

export interface ApplyResult {
  applied: K8sObject[];
  /** Objects still not ready when the wait ended (empty on success or without waiting). */
  notReady: { object: K8sObject; detail: string }[];
}

/**
 * Checks that the cluster serves every kind in `objs` (CRDs applied in the same run count), so a missing
 * prerequisite (Strimzi, Knative, the Kafka broker) fails before anything is applied.
 */
export async function checkKindsServed(cluster: Cluster, objs: readonly K8sObject[]): Promise<void> {
  const fromCrds = new Set<string>();
  for (const o of objs) {
    if (o.kind !== 'CustomResourceDefinition') continue;
    const spec = o.spec as { group?: string; names?: { kind?: string }; versions?: { name: string }[] };
    for (const v of spec.versions ?? []) fromCrds.add(`${spec.group}/${v.name}/${spec.names?.kind}`);
  }
  const wanted = new Map<string, { apiVersion: string; kind: string }>();
  for (const o of objs) {
    const key = `${o.apiVersion}/${o.kind}`;
    if (!fromCrds.has(key)) wanted.set(key, { apiVersion: o.apiVersion, kind: o.kind });
  }
  const missing: string[] = [];
  for (const { apiVersion, kind } of wanted.values()) {
    if (!(await cluster.serves(apiVersion, kind))) missing.push(`${kind} (${apiVersion})`);
  }
  if (missing.length > 0) {
    throw new TributaryError(
      `the cluster does not serve ${missing.join(', ')}: install the prerequisites first (infra/README.md, "Prerequisites")`,
      { code: 'KIND_NOT_SERVED', retriable: false },
    );
  }
}

/**
 * Server-side applies `objs` in dependency order (see `inApplyOrder`), waiting for CRDs to be
 * established before the objects that use them, then waits until every applied object is ready.
 */
export async function applyAll(
  cluster: Cluster,
  objs: readonly K8sObject[],
  opts: ApplyOptions,
): Promise<ApplyResult> {
  const fieldManager = opts.fieldManager ?? 'tributary';
  const ordered = inApplyOrder(objs);
  const applied: K8sObject[] = [];
  const crdRank = applyRank({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' });
  let crdsPending: K8sObject[] = [];
  for (const obj of ordered) {
    if (crdsPending.length > 0 && applyRank(obj) > crdRank) {
      const left = await waitReady(cluster, crdsPending, opts);
      if (left.length > 0) return { applied, notReady: left };
      crdsPending = [];
    }
    const result = await cluster.apply(obj, fieldManager);
    // Keep what we sent, plus what the server filled in that readiness needs (generation).
    const live: K8sObject = {
      ...obj,
      metadata: { ...obj.metadata, namespace: result.metadata?.namespace ?? obj.metadata.namespace },
    };
    applied.push(live);
    if (obj.kind === 'CustomResourceDefinition') crdsPending.push(live);
    opts.progress(`applied ${describe(live)}`);
  }
  if (opts.wait === false) return { applied, notReady: [] };
  const notReady = await waitReady(cluster, applied, opts);
  return { applied, notReady };
}

/** Polls until every waitable object is ready or the timeout passes; returns those still not ready. */
export async function waitReady(
  cluster: Cluster,
  objs: readonly K8sObject[],
  opts: ApplyOptions,
): Promise<{ object: K8sObject; detail: string }[]> {
  const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  const pollMs = opts.pollMs ?? 2_000;
  const deadline = Date.now() + timeoutMs;
  let pending = objs.filter((o) => readinessOf(o).waitable);
  if (pending.length === 0) return [];
  opts.progress(
    `waiting for ${pending.length} resources to become ready (timeout ${Math.round(timeoutMs / 1000)}s)`,
  );
  const lastDetail = new Map<K8sObject, string>();
  for (;;) {
    const still: K8sObject[] = [];
    for (const obj of pending) {
      const live = await cluster.read(obj).catch(() => undefined);
      const r = live ? readinessOf(live) : { waitable: true, ready: false, detail: 'not found' };
      if (r.ready) {
        opts.progress(`ready   ${describe(obj)}${r.detail && r.detail !== 'True' ? ` (${r.detail})` : ''}`);
        continue;
      }
      if (lastDetail.get(obj) !== r.detail) {
        opts.progress(`waiting ${describe(obj)}: ${r.detail}`);
        lastDetail.set(obj, r.detail);
      }
      still.push(obj);
    }
    pending = still;
    if (pending.length === 0) return [];
    if (Date.now() >= deadline) {
      return pending.map((object) => ({ object, detail: lastDetail.get(object) ?? 'not ready' }));
    }
    await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())));
  }
}
