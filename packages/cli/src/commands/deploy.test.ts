import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { applyAll } from '../k8s/apply.js';
import { Cluster } from '../k8s/client.js';
import { loadKubeConfig } from '../k8s/kubeconfig.js';
import { ensureKustomize } from '../k8s/kustomize.js';
import type { K8sObject } from '../k8s/manifests.js';
import { FakeApiServer, type FakeApiServerOptions, readyStatus } from '../k8s/testing/fake-api-server.js';
import { deployCommand } from './deploy.js';

const NS = 'tributary';
const meta = (name: string, namespace: string | undefined = NS) => ({
  name,
  ...(namespace ? { namespace } : {}),
});

/** A small platform, deliberately listed in the wrong order. */
const FIXTURE: K8sObject[] = [
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
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta('db-events'),
    spec: {
      replicas: 1,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: { app: 'db-events' } },
      template: {
        metadata: { labels: { app: 'db-events' } },
        spec: {
          containers: [
            {
              name: 'db-events',
              image: 'ghcr.io/tributary/db-events:latest',
              env: [
                {
                  name: 'DATABASE_URL',
                  valueFrom: { secretKeyRef: { name: 'tributary-postgres', key: 'db-events-url' } },
                },
              ],
            },
          ],
        },
      },
    },
  },
  {
    apiVersion: 'sources.knative.dev/v1',
    kind: 'SinkBinding',
    metadata: meta('db-events'),
    spec: {
      subject: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'db-events' },
      sink: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' } },
    },
  },
  {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Broker',
    metadata: { ...meta('default'), annotations: { 'eventing.knative.dev/broker.class': 'Kafka' } },
    spec: {},
  },
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta('kafka-broker-config', 'knative-eventing'),
    data: { 'default.topic.partitions': '10' },
  },
  {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: meta('postgres'),
    spec: {
      replicas: 1,
      serviceName: 'postgres',
      selector: { matchLabels: { app: 'postgres' } },
      template: {
        metadata: { labels: { app: 'postgres' } },
        spec: { containers: [{ name: 'postgres', image: 'postgres:17.6' }] },
      },
    },
  },
  {
    apiVersion: 'kafka.strimzi.io/v1beta2',
    kind: 'Kafka',
    metadata: meta('tributary', 'kafka'),
    spec: { kafka: { version: '4.1.0', listeners: [] } },
  },
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
];

const EXPECTED_ORDER = [
  'Namespace tributary',
  'ConfigMap knative-eventing/kafka-broker-config',
  'Kafka kafka/tributary',
  'StatefulSet tributary/postgres',
  'Broker tributary/default',
  'SinkBinding tributary/db-events',
  'Deployment tributary/db-events',
  'Service.serving.knative.dev tributary/file-indexer',
  'Trigger tributary/file-indexer',
];

const POSTGRES_SECRET: K8sObject = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: meta('tributary-postgres'),
  stringData: { 'db-events-url': 'postgres://x' },
};

let server: FakeApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup(opts: FakeApiServerOptions = {}, seedSecret = true) {
  server = await new FakeApiServer(opts).start();
  if (seedSecret) server.seed(POSTGRES_SECRET);
  const kubeconfig = await server.writeKubeconfig();
  const dir = await mkdtemp(join(tmpdir(), 'tributary-deploy-'));
  const file = join(dir, 'platform.yaml');
  await writeFile(file, FIXTURE.map((o) => stringify(o)).join('---\n'));
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    env: { KUBECONFIG: kubeconfig, HOME: dir },
    stdout: (l: string) => out.push(l),
    stderr: (l: string) => err.push(l),
  };
  return { server, file, out, err, io, kubeconfig };
}

function applied(s: FakeApiServer): string[] {
  return s.applies().map((r) => {
    const b = r.body as K8sObject;
    const group = b.apiVersion.includes('/') && b.kind === 'Service' ? `.${b.apiVersion.split('/')[0]}` : '';
    return `${b.kind}${group} ${b.metadata.namespace ? `${b.metadata.namespace}/` : ''}${b.metadata.name}`;
  });
}

describe('tributary deploy against a fake API server', () => {
  it('server-side applies every object in dependency order with field manager tributary, then reports ready', async () => {
    const t = await setup();
    const code = await deployCommand.run(['--file', t.file], t.io);
    expect(t.err).toEqual([]);
    expect(code).toBe(0);
    expect(applied(t.server)).toEqual(EXPECTED_ORDER);
    for (const r of t.server.applies()) {
      expect(r.method).toBe('PATCH');
      expect(r.contentType).toBe('application/apply-patch+yaml');
      expect(r.query).toMatchObject({ fieldManager: 'tributary', force: 'true' });
    }
    // What reached the server is exactly the manifest, e.g. the Deployment's Recreate strategy.
    const deployment = t.server.applies().find((r) => r.body?.kind === 'Deployment')?.body;
    expect(deployment).toEqual(FIXTURE[2]);
    const urls = t.server.applies().map((r) => r.path);
    expect(urls).toContain('/api/v1/namespaces/knative-eventing/configmaps/kafka-broker-config');
    expect(urls).toContain('/apis/serving.knative.dev/v1/namespaces/tributary/services/file-indexer');
    expect(urls[0]).toBe('/api/v1/namespaces/tributary');
    expect(t.out).toContain('applied Deployment tributary/db-events');
    expect(t.out).toContain('ready   Broker tributary/default');
    expect(t.out.at(-1)).toMatch(/^deployed 9 objects, all ready in [\d.]+s$/);
  }, 60_000);

  it('--field-manager and --no-wait are honoured; --dry-run needs no cluster', async () => {
    const t = await setup();
    expect(await deployCommand.run(['-f', t.file, '--field-manager', 'ci', '--no-wait'], t.io)).toBe(0);
    expect(new Set(t.server.applies().map((r) => r.query.fieldManager))).toEqual(new Set(['ci']));
    expect(t.server.requests.some((r) => r.method === 'GET' && r.path.includes('/deployments/'))).toBe(false);
    expect(t.out.at(-1)).toContain('(not waiting for readiness)');

    const out: string[] = [];
    const io = { env: { KUBECONFIG: '/nonexistent' }, stdout: (l: string) => out.push(l), stderr: () => {} };
    expect(await deployCommand.run(['-f', t.file, '--dry-run'], io)).toBe(0);
    expect(out.slice(0, -1).map((l) => l.trim().replace(/^\d+\s+/, ''))).toEqual(EXPECTED_ORDER);
  }, 60_000);

  it('applies nothing when a prerequisite CRD is missing, and names it', async () => {
    const t = await setup({ notServed: ['kafka.strimzi.io/v1beta2'] });
    expect(await deployCommand.run(['--file', t.file], t.io)).toBe(1);
    expect(t.err.join('\n')).toContain('the cluster does not serve Kafka (kafka.strimzi.io/v1beta2)');
    expect(t.server.applies()).toHaveLength(0);
  }, 60_000);

  it('applies nothing when a referenced Secret is missing, and says how to create it', async () => {
    const t = await setup({}, false);
    expect(await deployCommand.run(['--file', t.file], t.io)).toBe(1);
    expect(t.err.join('\n')).toContain(
      'missing Secrets tributary/tributary-postgres: create them first, e.g. `tributary keys --all --namespace tributary | kubectl apply -f -`',
    );
    expect(t.server.applies()).toHaveLength(0);
  }, 60_000);

  it('lists what is not ready, with the Ready reason, when the timeout passes', async () => {
    const t = await setup({
      statusOnRead: (obj) =>
        obj.kind === 'Broker'
          ? {
              observedGeneration: 1,
              conditions: [
                {
                  type: 'Ready',
                  status: 'False',
                  reason: 'TopicNotReady',
                  message: 'failed to create topic',
                },
              ],
            }
          : readyStatus(obj),
    });
    expect(await deployCommand.run(['--file', t.file, '--timeout', '200ms'], t.io)).toBe(1);
    expect(t.err.join('\n')).toMatch(/^1 of 9 objects not ready after/);
    expect(t.err[1]).toBe('  Broker tributary/default: False (TopicNotReady: failed to create topic)');
    expect(t.out).toContain(
      'waiting Broker tributary/default: False (TopicNotReady: failed to create topic)',
    );
  }, 60_000);

  it('rejects bad arguments', async () => {
    const io = { env: {}, stdout: () => {}, stderr: () => {} };
    await expect(deployCommand.run(['--timeout', 'soon'], io)).rejects.toThrow('invalid --timeout "soon"');
    await expect(deployCommand.run(['dev', '-f', 'x.yaml'], io)).rejects.toThrow(
      'give an overlay or --file, not both',
    );
    await expect(deployCommand.run(['no-such-overlay'], io)).rejects.toThrow('no overlay "no-such-overlay"');
  }, 60_000);
});

describe('applyAll waiting', () => {
  it('polls until rollouts and Ready conditions converge, printing each change', async () => {
    server = await new FakeApiServer({
      statusOnRead: (obj, reads) => {
        if (obj.kind === 'Deployment') {
          return reads < 3
            ? { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 0 }
            : readyStatus(obj);
        }
        if (obj.kind === 'Trigger' && reads < 2) {
          return {
            observedGeneration: 1,
            conditions: [{ type: 'Ready', status: 'Unknown', reason: 'SubscriberNotResolved' }],
          };
        }
        return readyStatus(obj);
      },
    }).start();
    server.seed(POSTGRES_SECRET);
    const cluster = new Cluster(loadKubeConfig({ KUBECONFIG: await server.writeKubeconfig() }));
    const progress: string[] = [];
    const result = await applyAll(cluster, FIXTURE, {
      progress: (l) => progress.push(l),
      pollMs: 5,
      timeoutMs: 60_000,
    });
    expect(result.notReady).toEqual([]);
    expect(result.applied).toHaveLength(9);
    const lines = progress.filter((l) => l.includes('db-events') && l.includes('Deployment'));
    expect(lines).toEqual([
      'applied Deployment tributary/db-events',
      'waiting Deployment tributary/db-events: 0/1 available',
      'ready   Deployment tributary/db-events (1/1 available)',
    ]);
    expect(progress).toContain('waiting Trigger tributary/file-indexer: Unknown (SubscriberNotResolved)');
    expect(progress).toContain('ready   Trigger tributary/file-indexer');
    // ConfigMaps and Namespaces have nothing to wait for.
    expect(progress.filter((l) => l.startsWith('ready ') && l.includes('ConfigMap'))).toEqual([]);
  }, 60_000);
});

describe('tributary deploy dev (real kustomize render)', () => {
  beforeAll(async () => {
    // Builds the pinned kustomize with Go on a fresh machine (cached in ~/.cache/tributary afterwards).
    await ensureKustomize(process.env, (l) => process.stderr.write(`${l}\n`));
  }, 20 * 60_000);

  it('applies the whole dev overlay, Namespace first and Triggers last', async () => {
    const t = await setup();
    for (const name of [
      'tributary-jwt',
      'tributary-minio',
      'tributary-storage-events',
      'tributary-auth-hooks',
    ]) {
      t.server.seed({ ...POSTGRES_SECRET, metadata: meta(name) });
    }
    // The real HOME: the pinned kustomize is cached under it.
    const code = await deployCommand.run(['dev'], {
      ...t.io,
      env: { ...process.env, KUBECONFIG: t.io.env.KUBECONFIG },
    });
    expect(t.err).toEqual([]);
    expect(code).toBe(0);
    const order = applied(t.server);
    expect(order[0]).toBe('Namespace tributary');
    const firstTrigger = order.findIndex((o) => o.startsWith('Trigger '));
    expect(order.slice(firstTrigger).every((o) => o.startsWith('Trigger '))).toBe(true);
    expect(order.slice(firstTrigger)).toContain('Trigger tributary/file-indexer');
    expect(order.indexOf('SinkBinding tributary/db-events')).toBeLessThan(
      order.indexOf('Deployment tributary/db-events'),
    );
    expect(order.indexOf('Broker tributary/default')).toBeLessThan(
      order.indexOf('SinkBinding tributary/db-events'),
    );
    expect(order).toContain('ConfigMap knative-serving/config-network');
    expect(t.server.get('v1', 'ConfigMap', 'knative-serving', 'config-network')?.data).toEqual({
      'ingress-class': 'kourier.ingress.networking.knative.dev',
    });
    expect(t.server.applies().every((r) => r.contentType === 'application/apply-patch+yaml')).toBe(true);
  }, 60_000);
});
