import * as k8s from '@kubernetes/client-node';
import type { FilterSpec } from '@tributary/eventing';
import type { ClusterView } from './collector.js';
import { describeFilter } from './filters.js';

export interface KubernetesViewOptions {
  /** A loaded KubeConfig (default: `loadFromDefault()`: in-cluster service account or ~/.kube/config). */
  kubeConfig?: k8s.KubeConfig;
  /** Only this namespace (default: all namespaces the service account may list). */
  namespace?: string | undefined;
}

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

interface KObject {
  metadata?: {
    name?: string;
    namespace?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  status?: {
    conditions?: Condition[];
    actualReplicas?: number;
    desiredReplicas?: number;
    address?: { url?: string };
  };
}

function ready(o: KObject): { ready?: boolean; reason?: string } {
  const c = o.status?.conditions?.find((x) => x.type === 'Ready');
  if (!c) return {};
  return {
    ready: c.status === 'True',
    ...(c.status !== 'True' && (c.reason || c.message)
      ? { reason: [c.reason, c.message].filter(Boolean).join(': ') }
      : {}),
  };
}

/**
 * The cluster's view of the platform through the Kubernetes API: Brokers (Ready), Knative Triggers (broker,
 * filter, subscriber, Ready) and Knative Services with their current scale (the sum of `status.actualReplicas` of their
 * Revisions, so 0 when scaled to zero) and min/max-scale annotations.
 */
export function kubernetesClusterView(options: KubernetesViewOptions = {}): () => Promise<ClusterView> {
  const kc =
    options.kubeConfig ??
    (() => {
      const c = new k8s.KubeConfig();
      c.loadFromDefault();
      return c;
    })();
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  const list = async (group: string, plural: string): Promise<KObject[]> => {
    const res = (
      options.namespace
        ? await api.listNamespacedCustomObject({ group, version: 'v1', namespace: options.namespace, plural })
        : await api.listClusterCustomObject({ group, version: 'v1', plural })
    ) as { items?: KObject[] };
    return res.items ?? [];
  };
  return async () => {
    const [brokers, triggers, services, revisions] = await Promise.all([
      list('eventing.knative.dev', 'brokers'),
      list('eventing.knative.dev', 'triggers'),
      list('serving.knative.dev', 'services'),
      list('serving.knative.dev', 'revisions'),
    ]);
    const replicas = new Map<string, number>();
    for (const r of revisions) {
      const svc = r.metadata?.labels?.['serving.knative.dev/service'];
      if (!svc) continue;
      const key = `${r.metadata?.namespace}/${svc}`;
      replicas.set(key, (replicas.get(key) ?? 0) + (r.status?.actualReplicas ?? 0));
    }
    return {
      brokers: brokers.map((b) => ({
        namespace: b.metadata?.namespace ?? 'default',
        name: b.metadata?.name ?? '',
        ...ready(b),
      })),
      triggers: triggers.map((t) => {
        const spec = (t.spec ?? {}) as {
          broker?: string;
          filter?: { attributes?: Record<string, string> };
          filters?: FilterSpec[];
          subscriber?: { uri?: string; ref?: { kind?: string; name?: string } };
        };
        return {
          namespace: t.metadata?.namespace ?? 'default',
          name: t.metadata?.name ?? '',
          broker: spec.broker ?? 'default',
          filter: describeFilter(spec),
          subscriber:
            spec.subscriber?.uri ??
            (spec.subscriber?.ref ? `${spec.subscriber.ref.kind}/${spec.subscriber.ref.name}` : undefined),
          ...ready(t),
        };
      }),
      services: services.map((s) => {
        const ns = s.metadata?.namespace ?? 'default';
        const name = s.metadata?.name ?? '';
        const tmpl = (
          s.spec as { template?: { metadata?: { annotations?: Record<string, string> } } } | undefined
        )?.template;
        const ann = tmpl?.metadata?.annotations ?? {};
        const num = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);
        return {
          namespace: ns,
          name,
          scale: replicas.get(`${ns}/${name}`) ?? 0,
          minScale: num(ann['autoscaling.knative.dev/min-scale']),
          maxScale: num(ann['autoscaling.knative.dev/max-scale']),
          ...ready(s),
        };
      }),
    };
  };
}
