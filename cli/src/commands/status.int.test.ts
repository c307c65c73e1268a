// `tributary status` against the run's shared real kube-apiserver (@tributary/testing), with the real
// Knative CRDs, in a namespace of its own. The test plays the controllers (Ready conditions) and the
// endpoints controller (db-events' Endpoints); the API server's service proxy reaches db-events' metrics
// through the cluster egress socket, which the test serves.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createNamespaces,
  installCrds,
  type KubeApiServerInstance,
  serveClusterEgress,
  sharedKubeApiServer,
  uniqueBucket,
} from '@tributary/testing';
import type { K8sObject } from '../k8s/manifests.js';
import { applyAsTest, read, readyCondition, setStatus } from '../k8s/testing/cluster.test-util.js';
import { statusCommand } from './status.js';

const METRICS = `# HELP db_events_replication_connected 1 while the replication stream is connected
# TYPE db_events_replication_connected gauge
db_events_replication_connected 1
db_events_replication_lag_bytes 1536
db_events_replication_lag_seconds 0.25
db_events_slot_wal_status{status="reserved"} 1
db_events_slot_wal_status{status="extended"} 0
db_events_slot_wal_status{status="unreserved"} 0
db_events_slot_wal_status{status="lost"} 0
db_events_slot_safe_wal_size_bytes 2147483648
`;

let kube: KubeApiServerInstance;
let ns: string;
let metrics: Server;
const meta = (name: string) => ({ name, namespace: ns });

function objects(): K8sObject[] {
  return [
    {
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Broker',
      metadata: { ...meta('default'), annotations: { 'eventing.knative.dev/broker.class': 'Kafka' } },
      spec: {},
    },
    {
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Trigger',
      metadata: meta('on-user-created'),
      spec: {
        broker: 'default',
        subscriber: {
          ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'on-user-created' },
        },
      },
    },
    {
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Trigger',
      metadata: meta('file-indexer'),
      spec: {
        broker: 'default',
        subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'file-indexer' } },
      },
    },
    {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: meta('file-indexer'),
      spec: { template: { spec: { containers: [{ image: 'ghcr.io/tributary/fn-file-indexer:latest' }] } } },
    },
    // A core Service named like a Knative one must not show up among the Knative Services.
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta('db-events'),
      spec: { selector: { app: 'db-events' }, ports: [{ name: 'http', port: 8080, targetPort: 8080 }] },
    },
  ];
}

const find = (kind: string, name: string) =>
  objects().find((o) => o.kind === kind && o.metadata.name === name && o.apiVersion !== 'v1') ??
  objects().find((o) => o.kind === kind && o.metadata.name === name)!;

async function markReady(kind: string, name: string, extra: Record<string, unknown> = {}) {
  const live = (await read(kube, find(kind, name)))!;
  await setStatus(kube, live, {
    observedGeneration: live.metadata.generation,
    conditions: [readyCondition('True')],
    ...extra,
  });
}

async function run(namespace = ns) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await statusCommand.run(['--namespace', namespace], {
    env: { KUBECONFIG: kube.kubeconfig },
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l),
  });
  return { code, out: out.join('\n'), err };
}

beforeAll(async () => {
  kube = await sharedKubeApiServer();
  await installCrds(kube, ['knative-serving', 'knative-eventing']);
  ns = uniqueBucket('status');
  await createNamespaces(kube, [ns]);
  for (const obj of objects()) await applyAsTest(kube, obj);
  // What kube-controller-manager would make: the namespace's default ServiceAccount, and db-events'
  // Endpoints, empty while no db-events pod is ready.
  await applyAsTest(kube, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('default') });
  await applyAsTest(kube, { apiVersion: 'v1', kind: 'Endpoints', metadata: meta('db-events') });
  // What the Knative controllers would report: the Broker and one Trigger ready, the other Trigger not.
  await markReady('Broker', 'default', {
    address: { url: `http://kafka-broker-ingress.knative-eventing.svc.cluster.local/${ns}/default` },
  });
  await markReady('Trigger', 'file-indexer', {
    subscriberUri: `http://file-indexer.${ns}.svc.cluster.local`,
  });
  await markReady('Service', 'file-indexer', { url: `http://file-indexer.${ns}.svc.cluster.local` });
  const trigger = (await read(kube, find('Trigger', 'on-user-created')))!;
  await setStatus(kube, trigger, {
    observedGeneration: trigger.metadata.generation,
    conditions: [
      readyCondition(
        'False',
        'SubscriberResolved',
        'services.serving.knative.dev "on-user-created" not found',
      ),
    ],
  });
  metrics = createServer((req, res) => {
    if (req.url === '/metrics') res.writeHead(200, { 'content-type': 'text/plain' }).end(METRICS);
    else res.writeHead(404).end('not found\n');
  });
  await new Promise<void>((resolve) => metrics.listen(0, '127.0.0.1', resolve));
}, 30 * 60_000);

afterAll(async () => {
  await new Promise((resolve) => metrics?.close(resolve));
});

describe('tributary status against a real API server', () => {
  it('shows Ready conditions with reasons; db-events without endpoints makes it unhealthy', async () => {
    const r = await run();
    expect(r.err).toEqual([]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      [
        `Brokers in ${ns}:`,
        '  NAME     READY  REASON  ADDRESS',
        `  default  True           http://kafka-broker-ingress.knative-eventing.svc.cluster.local/${ns}/default`,
      ].join('\n'),
    );
    expect(r.out).toMatch(new RegExp(`^Triggers in ${ns}:\\n {2}NAME +READY +REASON +SUBSCRIBER$`, 'm'));
    expect(r.out).toMatch(
      new RegExp(`^ {2}file-indexer +True +http://file-indexer\\.${ns}\\.svc\\.cluster\\.local$`, 'm'),
    );
    expect(r.out).toMatch(
      /^ {2}on-user-created +False +SubscriberResolved: services\.serving\.knative\.dev "on-user-created" not found +Service\/on-user-created$/m,
    );
    expect(r.out).toContain(
      `Knative Services in ${ns}:\n  NAME          READY  REASON  URL\n  file-indexer  True`,
    );
    expect(r.out).not.toMatch(/^ {2}db-events /m);
    // The real API server's answer for a Service with no endpoints, with what it means.
    expect(r.out).toContain(
      `db-events replication: metrics unavailable (no ready db-events pod behind Service ${ns}/db-events: see \`kubectl get pods -n ${ns} -l app.kubernetes.io/name=db-events\`; GET service ${ns}/db-events:http /metrics: HTTP 503: no endpoints available for service "db-events")`,
    );
  }, 120_000);

  it('reads the slot lag from db-events through the API server service proxy, and exits 0 when all is ready', async () => {
    // The scheduler and kubelet's work: a running db-events pod with an IP; then the endpoints
    // controller's: that pod as the Service's endpoint. The API server proxies only to addresses that are
    // pods with that IP, and dials them through the egress socket, which maps the pod to the local server.
    const podIp = '192.0.2.10';
    const port = (metrics.address() as AddressInfo).port;
    const pod = await applyAsTest(kube, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { ...meta('db-events-0'), labels: { app: 'db-events' } },
      spec: { containers: [{ name: 'db-events', image: 'ghcr.io/tributary/db-events:latest' }] },
    });
    await setStatus(kube, pod, { phase: 'Running', podIP: podIp, podIPs: [{ ip: podIp }] });
    await applyAsTest(kube, {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: meta('db-events'),
      subsets: [
        {
          addresses: [{ ip: podIp, targetRef: { kind: 'Pod', name: 'db-events-0', namespace: ns } }],
          ports: [{ name: 'http', port: 8080 }],
        },
      ],
    });
    const egress = await serveClusterEgress(kube, (target) =>
      target === `${podIp}:8080` ? port : undefined,
    );
    try {
      const before = await run();
      expect(before.code).toBe(1); // the on-user-created Trigger
      expect(before.out).toContain(
        'db-events replication: connected, slot lag 1.5 KiB (0.3 s), WAL status reserved, 2.0 GiB more WAL before the slot is lost',
      );
      expect(egress.connects).toContain(`${podIp}:8080`);

      await markReady('Trigger', 'on-user-created', {
        subscriberUri: `http://on-user-created.${ns}.svc.cluster.local`,
      });
      const after = await run();
      expect(after.out).not.toContain('False');
      expect(after.code).toBe(0);
    } finally {
      await egress.close();
    }
  }, 120_000);

  it('reports a namespace without a Broker', async () => {
    const empty = uniqueBucket('status-empty');
    await createNamespaces(kube, [empty]);
    const r = await run(empty);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`Brokers in ${empty}: none`);
    expect(r.out).toContain(
      `db-events replication: metrics unavailable (no Service db-events in ${empty}: is Tributary deployed there?; GET service ${empty}/db-events:http /metrics: HTTP 404: services "db-events" not found)`,
    );
  }, 120_000);
});
