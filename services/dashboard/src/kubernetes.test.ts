// The Kubernetes view against a fake Kubernetes API (a local HTTP server: the only fake the project allows).
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { kubernetesClusterView } from './kubernetes.js';

const objects: Record<string, unknown[]> = {
  '/apis/eventing.knative.dev/v1/brokers': [
    {
      metadata: { name: 'orders', namespace: 'shop' },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    },
  ],
  '/apis/eventing.knative.dev/v1/triggers': [
    {
      metadata: { name: 'billing', namespace: 'shop' },
      spec: {
        broker: 'orders',
        filters: [{ cesql: "type = 'order.placed'" }],
        subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'billing' } },
      },
      status: {
        conditions: [{ type: 'Ready', status: 'False', reason: 'SubscriberResolved', message: 'no service' }],
      },
    },
    {
      metadata: { name: 'audit', namespace: 'shop' },
      spec: { broker: 'orders', filter: { attributes: { type: 'a' } }, subscriber: { uri: 'http://audit' } },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    },
  ],
  '/apis/serving.knative.dev/v1/services': [
    {
      metadata: { name: 'billing', namespace: 'shop' },
      spec: { template: { metadata: { annotations: { 'autoscaling.knative.dev/max-scale': '5' } } } },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    },
    { metadata: { name: 'idle', namespace: 'shop' }, spec: {}, status: {} },
  ],
  '/apis/serving.knative.dev/v1/revisions': [
    {
      metadata: {
        name: 'billing-00001',
        namespace: 'shop',
        labels: { 'serving.knative.dev/service': 'billing' },
      },
      status: { actualReplicas: 1 },
    },
    {
      metadata: {
        name: 'billing-00002',
        namespace: 'shop',
        labels: { 'serving.knative.dev/service': 'billing' },
      },
      status: { actualReplicas: 2 },
    },
    {
      metadata: { name: 'idle-00001', namespace: 'shop', labels: { 'serving.knative.dev/service': 'idle' } },
      status: { actualReplicas: 0 },
    },
  ],
};

describe('kubernetesClusterView', () => {
  let server: Server;
  let kc: k8s.KubeConfig;
  const paths: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0]!;
      paths.push(path);
      const items = objects[path];
      res.writeHead(items ? 200 : 404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(items ? { apiVersion: 'v1', kind: 'List', items } : { kind: 'Status', code: 404 }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: 'fake',
          server: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
          skipTLSVerify: true,
        },
      ],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'c', cluster: 'fake', user: 'u' }],
      currentContext: 'c',
    });
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('lists Brokers, Triggers with filter and readiness, and Knative Services with their scale', async () => {
    const view = await kubernetesClusterView({ kubeConfig: kc })();
    expect(view.brokers).toEqual([{ namespace: 'shop', name: 'orders', ready: true }]);
    expect(view.triggers).toEqual([
      {
        namespace: 'shop',
        name: 'billing',
        broker: 'orders',
        filter: "cesql(type = 'order.placed')",
        subscriber: 'Service/billing',
        ready: false,
        reason: 'SubscriberResolved: no service',
      },
      {
        namespace: 'shop',
        name: 'audit',
        broker: 'orders',
        filter: 'type = "a"',
        subscriber: 'http://audit',
        ready: true,
      },
    ]);
    expect(view.services).toEqual([
      { namespace: 'shop', name: 'billing', scale: 3, minScale: undefined, maxScale: 5, ready: true },
      { namespace: 'shop', name: 'idle', scale: 0, minScale: undefined, maxScale: undefined },
    ]);
    expect(paths).toEqual(expect.arrayContaining(Object.keys(objects)));
  });
});
