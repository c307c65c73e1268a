import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { fixFor } from '../k8s/apply.js';
import type { K8sObject } from '../k8s/manifests.js';
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

// What a cluster makes of these objects is tested against a real API server in deploy.int.test.ts.
describe('tributary deploy without a cluster', () => {
  it('--dry-run prints the objects in dependency order and needs no cluster', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-deploy-'));
    const file = join(dir, 'platform.yaml');
    await writeFile(file, FIXTURE.map((o) => stringify(o)).join('---\n'));
    const out: string[] = [];
    const io = { env: { KUBECONFIG: '/nonexistent' }, stdout: (l: string) => out.push(l), stderr: () => {} };
    expect(await deployCommand.run(['-f', file, '--dry-run'], io)).toBe(0);
    expect(out.slice(0, -1).map((l) => l.trim().replace(/^\d+\s+/, ''))).toEqual(EXPECTED_ORDER);
    expect(out.at(-1)).toBe('9 objects (dry run: nothing applied)');
  });

  it('rejects bad arguments', async () => {
    const io = { env: {}, stdout: () => {}, stderr: () => {} };
    await expect(deployCommand.run(['--timeout', 'soon'], io)).rejects.toThrow('invalid --timeout "soon"');
    await expect(deployCommand.run(['dev', '-f', 'x.yaml'], io)).rejects.toThrow(
      'give an overlay or --file, not both',
    );
    await expect(deployCommand.run(['no-such-overlay'], io)).rejects.toThrow('no overlay "no-such-overlay"');
  });
});

describe('fixFor', () => {
  const statefulSet = FIXTURE.find((o) => o.kind === 'StatefulSet')!;
  it('explains the StatefulSet spec change Kubernetes forbids, with the command that gets past it', () => {
    const fix = fixFor(
      statefulSet,
      "HTTP 422: StatefulSet.apps \"postgres\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    );
    expect(fix).toContain(
      '`kubectl delete statefulset postgres -n tributary --cascade=orphan`, then deploy again',
    );
  });

  it('explains an immutable field, and has nothing to say about other refusals', () => {
    const deployment = FIXTURE.find((o) => o.kind === 'Deployment')!;
    expect(
      fixFor(
        deployment,
        'HTTP 422: Deployment.apps "db-events" is invalid: spec.selector: Invalid value: ...: field is immutable',
      ),
    ).toBe(
      'the change touches an immutable field: delete the object (`kubectl delete deployment db-events -n tributary`) and deploy again',
    );
    expect(fixFor(deployment, 'HTTP 403: forbidden')).toBeUndefined();
  });

  it('names a field the schema does not declare', () => {
    const deployment = FIXTURE.find((o) => o.kind === 'Deployment')!;
    expect(
      fixFor(
        deployment,
        'HTTP 500: failed to create typed patch object (tributary/db-events; apps/v1, Kind=Deployment): .spec.replicaz: field not declared in schema',
      ),
    ).toBe(
      'the manifest sets .spec.replicaz, which the schema of apps/v1 Deployment does not declare (a typo, or a field of another version): correct or remove it',
    );
  });
});
