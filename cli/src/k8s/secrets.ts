import type { Cluster } from './client.js';
import type { K8sObject } from './manifests.js';

/** Every `secretKeyRef`/`secretRef` name in an object (env, envFrom, volumes), with its namespace. */
export function referencedSecrets(objs: readonly K8sObject[]): { namespace: string; name: string }[] {
  const found = new Map<string, { namespace: string; name: string }>();
  const walk = (v: unknown, namespace: string) => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x, namespace);
      return;
    }
    if (!v || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if ((k === 'secretKeyRef' || k === 'secretRef') && x && typeof x === 'object') {
        const name = (x as { name?: unknown }).name;
        if (typeof name === 'string') found.set(`${namespace}/${name}`, { namespace, name });
      } else if (k === 'secret' && x && typeof x === 'object') {
        const name = (x as { secretName?: unknown }).secretName;
        if (typeof name === 'string') found.set(`${namespace}/${name}`, { namespace, name });
      } else {
        walk(x, namespace);
      }
    }
  };
  for (const o of objs) if (o.metadata.namespace) walk(o.spec, o.metadata.namespace);
  return [...found.values()];
}

/** Referenced Secrets that are neither in `objs` nor in the cluster. */
export async function missingSecrets(
  cluster: Cluster,
  objs: readonly K8sObject[],
): Promise<{ namespace: string; name: string }[]> {
  const rendered = new Set(
    objs.filter((o) => o.kind === 'Secret').map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
  );
  const missing: { namespace: string; name: string }[] = [];
  for (const ref of referencedSecrets(objs)) {
    if (rendered.has(`${ref.namespace}/${ref.name}`)) continue;
    const live = await cluster.read({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: ref.name, namespace: ref.namespace },
    });
    if (!live) missing.push(ref);
  }
  return missing;
}
