import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError } from '@tributary/shared';
import type { Cluster } from './client.js';
import { applyRank, describe, groupOf, inApplyOrder, type K8sObject } from './manifests.js';
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

export interface ApplyFailure {
  object: K8sObject;
  /** The API server's answer, e.g. `HTTP 422: StatefulSet.apps "postgres" is invalid: ...`. */
  error: string;
  /** What to do about it, when the refusal is one we recognise. */
  fix?: string;
}

export interface ApplyResult {
  applied: K8sObject[];
  /** Objects the API server refused; the others were still applied. */
  failed: ApplyFailure[];
  /** Objects not attempted because the cluster stopped answering (network error, 5xx). */
  skipped: K8sObject[];
  /** Objects still not ready when the wait ended (empty on success or without waiting). */
  notReady: { object: K8sObject; detail: string }[];
}

/** What installs each operator's kinds and namespaces (infra/scripts/install-prerequisites.sh). */
const INSTALLERS: readonly {
  groups: readonly string[];
  kinds?: readonly string[];
  namespaces: readonly string[];
  what: string;
}[] = [
  {
    groups: ['kafka.strimzi.io', 'core.strimzi.io'],
    namespaces: ['kafka'],
    what: 'the Strimzi 0.48.0 cluster operator (strimzi-cluster-operator-0.48.0.yaml, into namespace kafka)',
  },
  {
    groups: ['eventing.knative.dev'],
    kinds: ['KafkaSink'],
    namespaces: [],
    what: 'the Knative Kafka broker and sink knative-v1.17.0 (eventing-kafka-controller.yaml, eventing-kafka-broker.yaml, eventing-kafka-sink.yaml)',
  },
  {
    groups: ['serving.knative.dev', 'autoscaling.internal.knative.dev', 'networking.internal.knative.dev'],
    namespaces: ['knative-serving'],
    what: 'Knative Serving knative-v1.17.0 (serving-crds.yaml, serving-core.yaml) and Kourier (kourier.yaml)',
  },
  {
    groups: [
      'eventing.knative.dev',
      'sources.knative.dev',
      'messaging.knative.dev',
      'flows.knative.dev',
      'sinks.knative.dev',
    ],
    namespaces: ['knative-eventing'],
    what: 'Knative Eventing knative-v1.17.0 (eventing-crds.yaml, eventing-core.yaml)',
  },
];

function installerOf(apiVersion: string, kind: string): string | undefined {
  const group = groupOf(apiVersion);
  return INSTALLERS.find((i) => i.groups.includes(group) && (!i.kinds || i.kinds.includes(kind)))?.what;
}

/** One missing prerequisite: a kind the cluster does not serve, or a namespace it does not have. */
export interface MissingPrerequisite {
  what: string;
  /** What installs it. */
  install: string;
}

/**
 * What `objs` need from the cluster before anything is applied: every kind served (CRDs applied in the same
 * run count) and every namespace they go into either among `objs` or already in the cluster. Returns each
 * one missing, with what installs it.
 */
export async function missingPrerequisites(
  cluster: Cluster,
  objs: readonly K8sObject[],
): Promise<MissingPrerequisite[]> {
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
  const missing: MissingPrerequisite[] = [];
  for (const { apiVersion, kind } of wanted.values()) {
    if (await cluster.serves(apiVersion, kind)) continue;
    missing.push({
      what: `kind ${kind} (${apiVersion})`,
      install: installerOf(apiVersion, kind) ?? `the operator or CRD that serves ${apiVersion}`,
    });
  }
  const created = new Set(
    objs.filter((o) => o.kind === 'Namespace' && o.apiVersion === 'v1').map((o) => o.metadata.name),
  );
  const namespaces = new Set(objs.flatMap((o) => (o.metadata.namespace ? [o.metadata.namespace] : [])));
  for (const namespace of [...namespaces].filter((n) => !created.has(n)).sort()) {
    const live = await cluster.read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    if (live) continue;
    missing.push({
      what: `namespace ${namespace}`,
      install:
        INSTALLERS.find((i) => i.namespaces.includes(namespace))?.what ??
        `it with \`kubectl create namespace ${namespace}\``,
    });
  }
  return missing;
}

/**
 * Fails, naming each missing prerequisite and what installs it, when the cluster lacks a kind or namespace
 * that `objs` need, so that a missing operator stops deploy before anything is applied.
 */
export async function checkPrerequisites(cluster: Cluster, objs: readonly K8sObject[]): Promise<void> {
  const missing = await missingPrerequisites(cluster, objs);
  if (missing.length === 0) return;
  throw new TributaryError(
    [
      `the cluster lacks ${missing.length} prerequisite${missing.length === 1 ? '' : 's'}, nothing applied:`,
      ...missing.map((m) => `  ${m.what}: install ${m.install}`),
      'infra/scripts/install-prerequisites.sh installs them all (infra/README.md, "Prerequisites").',
    ].join('\n'),
    { code: 'PREREQUISITES_MISSING' },
  );
}

const UNDECLARED_FIELD = /failed to create typed patch object .*: (\S+): field not declared in schema/;

/** What to do about an API server refusal we recognise, or undefined. */
export function fixFor(obj: K8sObject, message: string): string | undefined {
  const ns = obj.metadata.namespace ? ` -n ${obj.metadata.namespace}` : '';
  const undeclared = UNDECLARED_FIELD.exec(message);
  if (undeclared) {
    return (
      `the manifest sets ${undeclared[1]}, which the schema of ${obj.apiVersion} ${obj.kind} does not declare ` +
      '(a typo, or a field of another version): correct or remove it'
    );
  }
  if (obj.kind === 'StatefulSet' && /updates to statefulset spec for fields other than/.test(message)) {
    return (
      "Kubernetes cannot change a StatefulSet's volumeClaimTemplates (such as the volume sizes, which differ " +
      'between the dev and prod overlays), selector or serviceName in place. Delete the StatefulSet but keep ' +
      `its pods and volumes: \`kubectl delete statefulset ${obj.metadata.name}${ns} --cascade=orphan\`, then ` +
      'deploy again. The existing PersistentVolumeClaims keep their size; grow them with `kubectl edit pvc` ' +
      'if the StorageClass allows volume expansion.'
    );
  }
  if (/field is immutable/.test(message)) {
    return (
      `the change touches an immutable field: delete the object (\`kubectl delete ${obj.kind.toLowerCase()} ` +
      `${obj.metadata.name}${ns}\`) and deploy again`
    );
  }
  return undefined;
}

/**
 * Server-side applies `objs` in dependency order (see `inApplyOrder`), waiting for CRDs to be established
 * before the objects that use them, then waits until every applied object is ready. An object the API
 * server refuses (4xx) is recorded with the reason and, when known, the fix, and the others are still
 * applied; if the cluster stops answering (network error, 5xx) the objects not yet attempted are returned
 * as skipped.
 */
export async function applyAll(
  cluster: Cluster,
  objs: readonly K8sObject[],
  opts: ApplyOptions,
): Promise<ApplyResult> {
  const fieldManager = opts.fieldManager ?? 'tributary';
  const ordered = inApplyOrder(objs);
  const applied: K8sObject[] = [];
  const failed: ApplyFailure[] = [];
  const crdRank = applyRank({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' });
  let crdsPending: K8sObject[] = [];
  for (const [i, obj] of ordered.entries()) {
    if (crdsPending.length > 0 && applyRank(obj) > crdRank) {
      const left = await waitReady(cluster, crdsPending, opts);
      if (left.length > 0) return { applied, failed, skipped: ordered.slice(i), notReady: left };
      crdsPending = [];
    }
    let result: K8sObject;
    try {
      result = await cluster.apply(obj, fieldManager);
    } catch (err) {
      const status = err instanceof TributaryError ? err.statusCode : undefined;
      const error = (err as Error).message.replace(/^apply [^:]*: /, '');
      const fix = fixFor(obj, error);
      failed.push({ object: obj, error, ...(fix ? { fix } : {}) });
      opts.progress(`FAILED  ${describe(obj)}: ${error}`);
      // Kubernetes answers a server-side apply with a field its schema does not declare with a 500
      // ("failed to create typed patch object", kubernetes/kubernetes#122480): a refusal, not an outage.
      const refused =
        status !== undefined && status !== 429 && (status < 500 || UNDECLARED_FIELD.test(error));
      if (!refused) {
        return { applied, failed, skipped: ordered.slice(i + 1), notReady: [] };
      }
      continue;
    }
    // Keep what we sent, plus what the server filled in that readiness needs (generation).
    const live: K8sObject = {
      ...obj,
      metadata: { ...obj.metadata, namespace: result.metadata?.namespace ?? obj.metadata.namespace },
    };
    applied.push(live);
    if (obj.kind === 'CustomResourceDefinition') crdsPending.push(live);
    opts.progress(`applied ${describe(live)}`);
  }
  if (opts.wait === false) return { applied, failed, skipped: [], notReady: [] };
  const notReady = await waitReady(cluster, applied, opts);
  return { applied, failed, skipped: [], notReady };
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
