// The dashboard's Kubernetes view against the run's shared real kube-apiserver (@tributary/testing), with the
// real Knative CRDs, in a namespace of its own. The server runs no controllers, so the test plays them: it
// writes the Ready conditions and the Revisions' replica counts through the status subresource. The view is
// read both as the admin and as a ServiceAccount bound to infra/base/dashboard's read-only Role.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import {
  createNamespaces,
  installCrds,
  type KubeApiServerInstance,
  sharedKubeApiServer,
  uniqueBucket,
} from '@tributary/testing';
import { parseAllDocuments } from 'yaml';
import type { ClusterView } from './collector.js';
import { kubernetesClusterView } from './kubernetes.js';

const repoRoot = resolve(import.meta.dirname, '../../..');

interface KObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    generation?: number;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

let kube: KubeApiServerInstance;
let ns: string;
let admin: k8s.KubeConfig;
const meta = (name: string, labels?: Record<string, string>) => ({
  name,
  namespace: ns,
  ...(labels ? { labels } : {}),
});

const PLURALS: Record<string, string> = {
  Broker: 'brokers',
  Trigger: 'triggers',
  Service: 'services',
  Revision: 'revisions',
  ServiceAccount: 'serviceaccounts',
  Role: 'roles',
  RoleBinding: 'rolebindings',
};

function path(obj: Pick<KObject, 'apiVersion' | 'kind' | 'metadata'>, sub?: string): string {
  const base = obj.apiVersion.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
  const plural = PLURALS[obj.kind];
  if (!plural) throw new Error(`no plural for ${obj.kind}`);
  return `${base}/namespaces/${obj.metadata.namespace}/${plural}/${obj.metadata.name}${sub ? `/${sub}` : ''}`;
}

async function ok(method: string, p: string, body?: unknown, contentType?: string): Promise<unknown> {
  const r = await kube.request(method, p, body, contentType);
  if (r.status >= 300) throw new Error(`${method} ${p}: HTTP ${r.status}: ${r.text.slice(0, 400)}`);
  return r.body;
}

/** Server-side apply as the admin (the test creating something by hand, as `kubectl apply` would). */
async function apply(obj: KObject): Promise<KObject> {
  return (await ok(
    'PATCH',
    `${path(obj)}?fieldManager=tributary-test&force=true`,
    obj,
    'application/apply-patch+yaml',
  )) as KObject;
}

/** Writes `status` through the status subresource, as the object's controller would. */
async function setStatus(live: KObject, status: Record<string, unknown>): Promise<void> {
  await ok(
    'PATCH',
    path(live, 'status'),
    { status: { observedGeneration: live.metadata.generation, ...status } },
    'application/merge-patch+json',
  );
}

function readyCondition(status: 'True' | 'False', reason?: string, message?: string) {
  return {
    type: 'Ready',
    status,
    lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  };
}

const revision = (name: string, service: string): KObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Revision',
  metadata: meta(name, {
    'serving.knative.dev/service': service,
    'serving.knative.dev/configuration': service,
  }),
  spec: { containers: [{ image: `ghcr.io/tributary/fn-${service}:latest` }] },
});

/** The platform as the Knative controllers would leave it: a Broker, two Triggers, two Services, three Revisions. */
async function createPlatform(): Promise<void> {
  const broker = await apply({
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Broker',
    metadata: meta('orders'),
    spec: {},
  });
  await setStatus(broker, { conditions: [readyCondition('True')] });

  const billingTrigger = await apply({
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: meta('billing'),
    spec: {
      broker: 'orders',
      filters: [{ cesql: "type = 'order.placed'" }],
      subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'billing' } },
    },
  });
  await setStatus(billingTrigger, {
    conditions: [readyCondition('False', 'SubscriberResolved', 'no service')],
  });
  const auditTrigger = await apply({
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: meta('audit'),
    spec: { broker: 'orders', filter: { attributes: { type: 'a' } }, subscriber: { uri: 'http://audit' } },
  });
  await setStatus(auditTrigger, { conditions: [readyCondition('True')], subscriberUri: 'http://audit' });

  const billing = await apply({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: meta('billing'),
    spec: {
      template: {
        metadata: { annotations: { 'autoscaling.knative.dev/max-scale': '5' } },
        spec: { containers: [{ image: 'ghcr.io/tributary/fn-billing:latest' }] },
      },
    },
  });
  await setStatus(billing, {
    conditions: [readyCondition('True')],
    url: `http://billing.${ns}.svc.cluster.local`,
  });
  // A Service no controller has reported on yet: no status at all.
  await apply({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: meta('idle'),
    spec: { template: { spec: { containers: [{ image: 'ghcr.io/tributary/fn-idle:latest' }] } } },
  });

  // The autoscaler's work: billing runs 1 + 2 pods over two Revisions, idle is scaled to zero.
  for (const [name, service, actualReplicas] of [
    ['billing-00001', 'billing', 1],
    ['billing-00002', 'billing', 2],
    ['idle-00001', 'idle', 0],
  ] as const) {
    const live = await apply(revision(name, service));
    await setStatus(live, { actualReplicas, desiredReplicas: actualReplicas });
  }
}

/** The view of this file's namespace; the API server lists by name, so Triggers come audit, billing. */
function expected(): ClusterView {
  return {
    brokers: [{ namespace: ns, name: 'orders', ready: true }],
    triggers: [
      {
        namespace: ns,
        name: 'audit',
        broker: 'orders',
        filter: 'type = "a"',
        subscriber: 'http://audit',
        ready: true,
      },
      {
        namespace: ns,
        name: 'billing',
        broker: 'orders',
        filter: "cesql(type = 'order.placed')",
        subscriber: 'Service/billing',
        ready: false,
        reason: 'SubscriberResolved: no service',
      },
    ],
    services: [
      { namespace: ns, name: 'billing', scale: 3, minScale: undefined, maxScale: 5, ready: true },
      { namespace: ns, name: 'idle', scale: 0, minScale: undefined, maxScale: undefined },
    ],
  };
}

/** infra/base/dashboard/rbac.yaml, in this file's namespace instead of `tributary`. */
function dashboardRbac(): KObject[] {
  const text = readFileSync(resolve(repoRoot, 'infra/base/dashboard/rbac.yaml'), 'utf8');
  return parseAllDocuments(text).map((d) => {
    const obj = d.toJS() as KObject & { subjects?: { kind: string; namespace?: string }[] };
    obj.metadata.namespace = ns;
    for (const s of obj.subjects ?? []) if (s.kind === 'ServiceAccount') s.namespace = ns;
    return obj;
  });
}

/** A kubeconfig that authenticates with a token of ServiceAccount `name` (TokenRequest, as the kubelet gets it). */
async function serviceAccountKubeConfig(name: string): Promise<k8s.KubeConfig> {
  const r = (await ok('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${name}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 600 },
  })) as { status: { token: string } };
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: kube.server, caFile: kube.tls.ca }],
    users: [{ name: name, token: r.status.token }],
    contexts: [{ name: 'test', cluster: 'test', user: name }],
    currentContext: 'test',
  });
  return kc;
}

/** The HTTP status a client-node call failed with (ApiException.code), or 'ok'. */
async function outcome(call: () => Promise<unknown>): Promise<number | 'ok'> {
  try {
    await call();
    return 'ok';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    throw error;
  }
}

beforeAll(async () => {
  kube = await sharedKubeApiServer();
  await installCrds(kube, ['knative-serving', 'knative-eventing']);
  ns = uniqueBucket('dashboard-k8s');
  await createNamespaces(kube, [ns]);
  await createPlatform();
  admin = new k8s.KubeConfig();
  admin.loadFromFile(kube.kubeconfig);
}, 30 * 60_000);

describe('kubernetesClusterView against a real API server', () => {
  it('lists Brokers, Triggers with filter and readiness, and Knative Services with their scale', async () => {
    const view = await kubernetesClusterView({ kubeConfig: admin, namespace: ns })();
    expect(view).toEqual(expected());
  }, 120_000);

  it('lists across all namespaces when none is given', async () => {
    const view = await kubernetesClusterView({ kubeConfig: admin })();
    // Other test files share the server: keep this file's namespace only.
    const mine = <T extends { namespace: string }>(xs: T[]) => xs.filter((x) => x.namespace === ns);
    expect({
      brokers: mine(view.brokers ?? []),
      triggers: mine(view.triggers ?? []),
      services: mine(view.services ?? []),
    }).toEqual(expected());
  }, 120_000);

  describe('as the dashboard ServiceAccount bound to infra/base/dashboard/rbac.yaml', () => {
    let sa: k8s.KubeConfig;

    beforeAll(async () => {
      for (const obj of dashboardRbac()) await apply(obj);
      sa = await serviceAccountKubeConfig('dashboard');
    }, 120_000);

    it('reads everything the view needs in its namespace', async () => {
      // RBAC is in effect as soon as the RoleBinding is stored; no retry needed.
      const view = await kubernetesClusterView({ kubeConfig: sa, namespace: ns })();
      expect(view).toEqual(expected());
    }, 120_000);

    it('cannot list cluster-wide or in another namespace', async () => {
      await expect(kubernetesClusterView({ kubeConfig: sa })()).rejects.toMatchObject({ code: 403 });
      const api = sa.makeApiClient(k8s.CustomObjectsApi);
      expect(
        await outcome(() =>
          api.listNamespacedCustomObject({
            group: 'eventing.knative.dev',
            version: 'v1',
            namespace: 'default',
            plural: 'triggers',
          }),
        ),
      ).toBe(403);
      const core = sa.makeApiClient(k8s.CoreV1Api);
      expect(await outcome(() => core.listNamespacedSecret({ namespace: ns }))).toBe(403);
    }, 120_000);

    it('cannot create, change, change the status of or delete anything', async () => {
      const api = sa.makeApiClient(k8s.CustomObjectsApi);
      const trigger = { group: 'eventing.knative.dev', version: 'v1', namespace: ns, plural: 'triggers' };
      expect(
        await outcome(() =>
          api.createNamespacedCustomObject({
            ...trigger,
            body: {
              apiVersion: 'eventing.knative.dev/v1',
              kind: 'Trigger',
              metadata: { name: 'sneaky', namespace: ns },
              spec: { broker: 'orders', subscriber: { uri: 'http://sneaky' } },
            },
          }),
        ),
      ).toBe(403);
      expect(
        await outcome(() =>
          api.patchNamespacedCustomObject(
            { ...trigger, name: 'audit', body: [{ op: 'replace', path: '/spec/broker', value: 'other' }] },
            k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
          ),
        ),
      ).toBe(403);
      expect(
        await outcome(() =>
          api.patchNamespacedCustomObjectStatus(
            {
              ...trigger,
              name: 'billing',
              body: { status: { conditions: [readyCondition('True')] } },
            },
            k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
          ),
        ),
      ).toBe(403);
      expect(
        await outcome(() =>
          api.deleteNamespacedCustomObject({
            group: 'serving.knative.dev',
            version: 'v1',
            namespace: ns,
            plural: 'services',
            name: 'billing',
          }),
        ),
      ).toBe(403);
      // Nothing changed: the view is the same as before.
      expect(await kubernetesClusterView({ kubeConfig: admin, namespace: ns })()).toEqual(expected());
    }, 120_000);
  });
});
