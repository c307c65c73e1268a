import { TributaryError } from '@tributary/shared';
import { parseAllDocuments } from 'yaml';

/** A Kubernetes object as it appears in a manifest: apiVersion, kind and metadata.name are required. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** Kinds of the core API that custom resources also use (Knative's Service). */
const CORE_KINDS = new Set(['Service', 'Namespace', 'Secret', 'ConfigMap']);

/**
 * `Kind namespace/name` for progress lines and errors; a custom resource whose kind is also a core kind
 * gets its group, as kubectl prints it: `Service.serving.knative.dev tributary/file-indexer`.
 */
export function describe(obj: Pick<K8sObject, 'apiVersion' | 'kind' | 'metadata'>): string {
  const ns = obj.metadata.namespace ? `${obj.metadata.namespace}/` : '';
  const group = groupOf(obj.apiVersion);
  const kind = group && CORE_KINDS.has(obj.kind) ? `${obj.kind}.${group}` : obj.kind;
  return `${kind} ${ns}${obj.metadata.name}`;
}

function invalidManifest(message: string): TributaryError {
  return new TributaryError(message, { code: 'MANIFEST_INVALID' });
}

/** The API group of an apiVersion (`apps/v1` -> `apps`, `v1` -> ``). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/**
 * Parses a multi-document YAML stream (e.g. `kustomize build` output) into objects. Empty documents are
 * skipped and `List` objects flattened; a document that is not an object with apiVersion, kind and
 * metadata.name is an error naming its position.
 */
export function parseManifests(text: string, source = 'manifests'): K8sObject[] {
  const out: K8sObject[] = [];
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [];
  list.forEach((doc, i) => {
    if (doc.errors.length > 0) {
      throw invalidManifest(`${source} document ${i + 1}: ${doc.errors[0]?.message.split('\n')[0]}`);
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    const push = (v: unknown, where: string) => {
      const o = v as Partial<K8sObject> | null;
      if (
        !o ||
        typeof o !== 'object' ||
        typeof o.apiVersion !== 'string' ||
        typeof o.kind !== 'string' ||
        typeof o.metadata?.name !== 'string'
      ) {
        throw invalidManifest(
          `${where}: expected a Kubernetes object with apiVersion, kind and metadata.name`,
        );
      }
      out.push(o as K8sObject);
    };
    const o = value as { kind?: unknown; items?: unknown };
    if (o.kind === 'List' && Array.isArray(o.items)) {
      for (const [j, item] of o.items.entries()) push(item, `${source} document ${i + 1} item ${j + 1}`);
    } else {
      push(value, `${source} document ${i + 1}`);
    }
  });
  return out;
}

/**
 * Apply order, by `group/Kind`: what others depend on comes first. The Broker and the SinkBindings come
 * before the Deployments they bind, so that Knative's SinkBinding webhook injects K_SINK when the pods
 * are first created (instead of the Deployments rolling once more when the binding catches up), and
 * Triggers come last, after the Knative Services they deliver to.
 */
const ORDER: readonly (readonly string[])[] = [
  ['/Namespace'],
  ['apiextensions.k8s.io/CustomResourceDefinition'],
  [
    '/ServiceAccount',
    'rbac.authorization.k8s.io/ClusterRole',
    'rbac.authorization.k8s.io/ClusterRoleBinding',
    'rbac.authorization.k8s.io/Role',
    'rbac.authorization.k8s.io/RoleBinding',
  ],
  ['/ConfigMap', '/Secret'],
  ['/PersistentVolumeClaim', '/Service', 'networking.k8s.io/NetworkPolicy', 'policy/PodDisruptionBudget'],
  ['kafka.strimzi.io/KafkaNodePool', 'kafka.strimzi.io/Kafka', 'kafka.strimzi.io/KafkaTopic'],
  ['apps/StatefulSet'],
  ['eventing.knative.dev/Broker', 'eventing.knative.dev/KafkaSink'],
  ['sources.knative.dev/SinkBinding'],
  ['apps/Deployment', 'autoscaling/HorizontalPodAutoscaler'],
  ['serving.knative.dev/Service'],
  ['eventing.knative.dev/Trigger'],
];

const RANK = new Map<string, number>(ORDER.flatMap((kinds, rank) => kinds.map((k) => [k, rank])));

/** The apply phase of an object (lower first); kinds not listed go last. */
export function applyRank(obj: Pick<K8sObject, 'apiVersion' | 'kind'>): number {
  return RANK.get(`${groupOf(obj.apiVersion)}/${obj.kind}`) ?? ORDER.length;
}

/** Objects in apply order; the order of the input is kept within a phase. */
export function inApplyOrder<T extends Pick<K8sObject, 'apiVersion' | 'kind'>>(objs: readonly T[]): T[] {
  return objs
    .map((obj, i) => ({ obj, i, rank: applyRank(obj) }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map((x) => x.obj);
}
