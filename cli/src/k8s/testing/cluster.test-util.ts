// Helpers for the tests that run deploy / status / keys against the real kube-apiserver of
// @tributary/testing. That server runs no controllers, so the tests play them: they write the status a
// controller would (rollouts, Ready conditions), the `default` ServiceAccount and a Service's Endpoints.
import type { KubeApiServerInstance } from '@tributary/testing';
import { groupOf, type K8sObject } from '../manifests.js';

/** The REST plural of a kind (`NetworkPolicy` -> `networkpolicies`, `Kafka` -> `kafkas`). */
export function pluralOf(kind: string): string {
  const lower = kind.toLowerCase();
  if (lower === 'endpoints') return lower;
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  if (lower.endsWith('s')) return `${lower}es`;
  return `${lower}s`;
}

/** `/api/v1/namespaces/<ns>/<plural>/<name>` or `/apis/<group>/<version>/...`, plus `/<sub>`. */
export function resourcePath(obj: Pick<K8sObject, 'apiVersion' | 'kind' | 'metadata'>, sub?: string): string {
  const base = groupOf(obj.apiVersion) ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
  const ns = obj.metadata.namespace ? `/namespaces/${obj.metadata.namespace}` : '';
  return `${base}${ns}/${pluralOf(obj.kind)}/${obj.metadata.name}${sub ? `/${sub}` : ''}`;
}

export async function read(kube: KubeApiServerInstance, obj: K8sObject): Promise<K8sObject | undefined> {
  const r = await kube.request('GET', resourcePath(obj));
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new Error(`GET ${resourcePath(obj)}: HTTP ${r.status}: ${r.text}`);
  return r.body as K8sObject;
}

async function ok(
  kube: KubeApiServerInstance,
  method: string,
  path: string,
  body?: unknown,
  contentType?: string,
): Promise<unknown> {
  const r = await kube.request(method, path, body, contentType);
  if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status}: ${r.text.slice(0, 400)}`);
  return r.body;
}

/** Server-side apply as field manager `tributary-test` (the test creating something by hand). */
export async function applyAsTest(kube: KubeApiServerInstance, obj: K8sObject): Promise<K8sObject> {
  return (await ok(
    kube,
    'PATCH',
    `${resourcePath(obj)}?fieldManager=tributary-test&force=true`,
    obj,
    'application/apply-patch+yaml',
  )) as K8sObject;
}

/** Writes `status` through the status subresource, as the object's controller would. */
export async function setStatus(
  kube: KubeApiServerInstance,
  obj: K8sObject,
  status: Record<string, unknown>,
): Promise<void> {
  await ok(kube, 'PATCH', resourcePath(obj, 'status'), { status }, 'application/merge-patch+json');
}

const WITH_READY_CONDITION = new Set([
  'serving.knative.dev/Service',
  'eventing.knative.dev/Broker',
  'eventing.knative.dev/Trigger',
  'eventing.knative.dev/KafkaSink',
  'sources.knative.dev/SinkBinding',
  'kafka.strimzi.io/Kafka',
]);

/** Whether a controller would report on this object (what `tributary deploy` waits for). */
export function controlled(obj: K8sObject): boolean {
  const key = `${groupOf(obj.apiVersion)}/${obj.kind}`;
  return key === 'apps/Deployment' || key === 'apps/StatefulSet' || WITH_READY_CONDITION.has(key);
}

export function readyCondition(status: 'True' | 'False' | 'Unknown', reason?: string, message?: string) {
  return {
    type: 'Ready',
    status,
    lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  };
}

/** The status the object's controller writes once it has done its work for the current generation. */
export function readyStatusOf(live: K8sObject): Record<string, unknown> {
  const observedGeneration = live.metadata.generation ?? 1;
  const key = `${groupOf(live.apiVersion)}/${live.kind}`;
  if (key === 'apps/Deployment' || key === 'apps/StatefulSet') {
    const n = (live.spec as { replicas?: number }).replicas ?? 1;
    return {
      observedGeneration,
      replicas: n,
      updatedReplicas: n,
      readyReplicas: n,
      availableReplicas: n,
      ...(key === 'apps/StatefulSet' ? { currentReplicas: n } : {}),
    };
  }
  const ns = live.metadata.namespace;
  const extra: Record<string, unknown> =
    live.kind === 'Broker'
      ? {
          address: {
            url: `http://kafka-broker-ingress.knative-eventing.svc.cluster.local/${ns}/${live.metadata.name}`,
          },
        }
      : key === 'serving.knative.dev/Service'
        ? { url: `http://${live.metadata.name}.${ns}.svc.cluster.local` }
        : {};
  return { observedGeneration, conditions: [readyCondition('True')], ...extra };
}

/**
 * Plays every controller for `objs` until stopped: each object that exists and whose status does not yet
 * say ready for its generation gets the ready status (`statusOf` may return another one, or undefined to
 * leave an object alone this round).
 */
export function runControllers(
  kube: KubeApiServerInstance,
  objs: readonly K8sObject[],
  statusOf: (live: K8sObject) => Record<string, unknown> | undefined = readyStatusOf,
  intervalMs = 250,
): { stop(): Promise<void>; written: () => number } {
  let stopped = false;
  let written = 0;
  const loop = (async () => {
    while (!stopped) {
      for (const obj of objs.filter(controlled)) {
        if (stopped) break;
        const live = await read(kube, obj).catch(() => undefined);
        if (!live) continue;
        const want = statusOf(live);
        if (!want) continue;
        const have = (live.status ?? {}) as Record<string, unknown>;
        const withoutTimes = (c: unknown) =>
          JSON.stringify(
            ((c as Record<string, unknown>[] | undefined) ?? []).map(
              ({ lastTransitionTime, ...rest }) => rest,
            ),
          );
        const same = Object.entries(want).every(([k, v]) =>
          k === 'conditions'
            ? withoutTimes(v) === withoutTimes(have.conditions)
            : JSON.stringify(have[k]) === JSON.stringify(v),
        );
        if (same) continue;
        await setStatus(kube, live, want);
        written++;
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
    written: () => written,
  };
}

/** `resourceVersion` of each object, keyed by `kind namespace/name`. */
export async function resourceVersions(
  kube: KubeApiServerInstance,
  objs: readonly K8sObject[],
): Promise<Map<string, string | undefined>> {
  const out = new Map<string, string | undefined>();
  for (const obj of objs) {
    const live = await read(kube, obj);
    out.set(
      `${obj.apiVersion} ${obj.kind} ${obj.metadata.namespace ?? ''}/${obj.metadata.name}`,
      live?.metadata.resourceVersion as string | undefined,
    );
  }
  return out;
}

/** The pod specs (with labels) of Deployments, StatefulSets and Knative Services. */
export function podTemplates(objs: readonly K8sObject[]): { object: K8sObject; pod: K8sObject }[] {
  const out: { object: K8sObject; pod: K8sObject }[] = [];
  for (const object of objs) {
    const key = `${groupOf(object.apiVersion)}/${object.kind}`;
    if (key !== 'apps/Deployment' && key !== 'apps/StatefulSet' && key !== 'serving.knative.dev/Service')
      continue;
    const template = (
      object.spec as { template?: { metadata?: { labels?: Record<string, string> }; spec?: unknown } }
    ).template;
    const spec = structuredClone(template?.spec ?? {}) as {
      containers?: { name?: string }[];
      volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[];
    };
    // The StatefulSet controller gives each pod a volume per volumeClaimTemplate (its PVC `<claim>-<set>-<n>`).
    const claims = (object.spec as { volumeClaimTemplates?: { metadata: { name: string } }[] })
      .volumeClaimTemplates;
    for (const claim of key === 'apps/StatefulSet' ? (claims ?? []) : []) {
      const name = claim.metadata.name;
      spec.volumes = [
        ...(spec.volumes ?? []),
        { name, persistentVolumeClaim: { claimName: `${name}-${object.metadata.name}-0` } },
      ];
    }
    // Knative names the container itself (user-container) when the template leaves it out.
    for (const [i, c] of (spec.containers ?? []).entries())
      c.name ??= i === 0 ? 'user-container' : `container-${i}`;
    out.push({
      object,
      pod: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: `${object.metadata.name}-template-check`,
          namespace: object.metadata.namespace,
          labels: template?.metadata?.labels ?? {},
        },
        spec,
      },
    });
  }
  return out;
}

/**
 * Creates each pod template as a Pod with `dryRun=All`: the API server runs every admission plugin,
 * Pod Security included, and stores nothing. Returns each template with the HTTP status and message.
 */
export async function admitPodTemplates(
  kube: KubeApiServerInstance,
  objs: readonly K8sObject[],
): Promise<{ object: string; status: number; message: string }[]> {
  const out: { object: string; status: number; message: string }[] = [];
  for (const { object, pod } of podTemplates(objs)) {
    const r = await kube.request(
      'POST',
      `/api/v1/namespaces/${pod.metadata.namespace}/pods?dryRun=All&fieldManager=tributary-test`,
      pod,
    );
    const message = (r.body as { message?: string } | undefined)?.message ?? '';
    out.push({
      object: `${object.kind} ${object.metadata.namespace}/${object.metadata.name}`,
      status: r.status,
      message,
    });
  }
  return out;
}

/** Every `secretKeyRef` (Secret name and key) in the objects, with the namespace it is read in. */
export function secretKeyRefs(
  objs: readonly K8sObject[],
): { namespace: string; name: string; key: string }[] {
  const found = new Map<string, { namespace: string; name: string; key: string }>();
  const walk = (v: unknown, namespace: string) => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x, namespace);
      return;
    }
    if (!v || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if (k === 'secretKeyRef' && x && typeof x === 'object') {
        const { name, key } = x as { name?: string; key?: string };
        if (name && key) found.set(`${namespace}/${name}/${key}`, { namespace, name, key });
      } else walk(x, namespace);
    }
  };
  for (const o of objs) if (o.metadata.namespace) walk(o.spec, o.metadata.namespace);
  return [...found.values()];
}
