import { groupOf, type K8sObject } from './manifests.js';

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** Whether an object is ready, and in words why not. `waitable: false` means there is nothing to wait for. */
export interface Readiness {
  waitable: boolean;
  ready: boolean;
  /** e.g. `1/2 available`, `BrokerNotReady: ...`. */
  detail: string;
}

const CONDITION_GROUPS = new Set([
  'serving.knative.dev',
  'eventing.knative.dev',
  'sources.knative.dev',
  'messaging.knative.dev',
  'sinks.knative.dev',
]);

type Status = {
  observedGeneration?: number;
  conditions?: Condition[];
  replicas?: number;
  readyReplicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
};

export function conditionsOf(obj: K8sObject): Condition[] {
  const c = (obj.status as Status | undefined)?.conditions;
  return Array.isArray(c) ? c : [];
}

/** The `Ready` condition (Knative, Strimzi), if the object has one yet. */
export function readyCondition(obj: K8sObject): Condition | undefined {
  return conditionsOf(obj).find((c) => c.type === 'Ready');
}

/**
 * Readiness as `kubectl rollout status` / `kubectl wait --for=condition=Ready` would judge it:
 * - Deployments: the new generation observed and every desired replica updated and available;
 * - StatefulSets: every desired replica updated and ready;
 * - CRDs: Established;
 * - Knative resources and Strimzi's Kafka: condition Ready=True for the current generation.
 * Everything else (ConfigMaps, Services, KafkaNodePools, ...) is ready once applied.
 */
export function readinessOf(obj: K8sObject): Readiness {
  const group = groupOf(obj.apiVersion);
  const status = (obj.status ?? {}) as Status;
  const generation = obj.metadata.generation;
  const stale =
    generation !== undefined &&
    (status.observedGeneration === undefined || status.observedGeneration < generation);
  const key = `${group}/${obj.kind}`;
  if (key === 'apps/Deployment' || key === 'apps/StatefulSet') {
    const spec = (obj.spec ?? {}) as { replicas?: number };
    const want = spec.replicas ?? 1;
    if (stale) return { waitable: true, ready: false, detail: 'rollout not observed yet' };
    const updated = status.updatedReplicas ?? 0;
    const have = key === 'apps/Deployment' ? (status.availableReplicas ?? 0) : (status.readyReplicas ?? 0);
    const word = key === 'apps/Deployment' ? 'available' : 'ready';
    return {
      waitable: true,
      ready: updated >= want && have >= want,
      detail: `${Math.min(have, updated)}/${want} ${word}`,
    };
  }
  if (key === 'apiextensions.k8s.io/CustomResourceDefinition') {
    const established = conditionsOf(obj).find((c) => c.type === 'Established');
    return {
      waitable: true,
      ready: established?.status === 'True',
      detail: established ? `Established=${established.status}` : 'not established yet',
    };
  }
  if (CONDITION_GROUPS.has(group) || key === 'kafka.strimzi.io/Kafka') {
    const ready = readyCondition(obj);
    if (!ready) return { waitable: true, ready: false, detail: 'no Ready condition yet' };
    if (stale) return { waitable: true, ready: false, detail: 'new generation not observed yet' };
    return { waitable: true, ready: ready.status === 'True', detail: formatCondition(ready) };
  }
  return { waitable: false, ready: true, detail: '' };
}

/** `True`, or `False (Reason: message)`. */
export function formatCondition(c: Condition | undefined): string {
  if (!c) return 'Unknown (no Ready condition yet)';
  const why = [c.reason, c.message].filter(Boolean).join(': ');
  return why && c.status !== 'True' ? `${c.status} (${why})` : c.status;
}
