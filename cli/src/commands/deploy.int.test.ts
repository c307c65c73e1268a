// `tributary deploy` and `keys` against a real kube-apiserver (v1.34, from @tributary/testing) with the real
// Knative and Strimzi CRDs. This file starts its own API server: it begins with an empty cluster (to see
// the prerequisite check) and moves one cluster from dev to prod. No controllers run: the test writes
// the statuses they would.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createNamespaces,
  installCrds,
  type KubeApiServerInstance,
  PREREQUISITE_NAMESPACES,
  startKubeApiServer,
  waitFor,
} from '@tributary/testing';
import { parseAllDocuments, stringify } from 'yaml';
import { Cluster } from '../k8s/client.js';
import { loadKubeConfig } from '../k8s/kubeconfig.js';
import { ensureKustomize, kustomizeBuild } from '../k8s/kustomize.js';
import { describe as describeObject, type K8sObject, parseManifests } from '../k8s/manifests.js';
import { missingSecrets } from '../k8s/secrets.js';
import {
  admitPodTemplates,
  applyAsTest,
  read,
  readyCondition,
  resourcePath,
  resourceVersions,
  runControllers,
  secretKeyRefs,
} from '../k8s/testing/cluster.test-util.js';
import { deployCommand, findOverlay } from './deploy.js';
import { keysCommand } from './keys.js';

let kube: KubeApiServerInstance;
const overlays: Record<'dev' | 'prod', K8sObject[]> = { dev: [], prod: [] };

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      // The real HOME: the pinned kustomize is cached under it.
      env: { ...process.env, KUBECONFIG: kube.kubeconfig },
      stdout: (l: string) => out.push(l),
      stderr: (l: string) => err.push(l),
    },
  };
}

const NAMESPACE: K8sObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tributary' } };

beforeAll(async () => {
  const log = (l: string) => process.stderr.write(`${l}\n`);
  // Both are built with Go on a fresh machine, then cached in ~/.cache/tributary.
  await ensureKustomize(process.env, log);
  kube = await startKubeApiServer();
  for (const name of ['dev', 'prod'] as const) {
    const dir = findOverlay(name, process.cwd());
    if (!dir) throw new Error(`no infra/overlays/${name} above ${process.cwd()}`);
    overlays[name] = parseManifests(await kustomizeBuild(dir, process.env), dir);
  }
}, 30 * 60_000);

afterAll(async () => {
  await kube?.stop();
}, 60_000);

describe('tributary deploy against a real API server', () => {
  it(
    'names every missing CRD and namespace with what installs it, and applies nothing',
    async () => {
      const t = io();
      expect(await deployCommand.run(['dev'], t.io)).toBe(1);
      const message = t.err.join('\n');
      expect(message).toMatch(/^tributary deploy: the cluster lacks \d+ prerequisites, nothing applied:$/m);
      expect(message).toContain(
        '  kind Broker (eventing.knative.dev/v1): install Knative Eventing knative-v1.17.0',
      );
      expect(message).toContain('  kind Trigger (eventing.knative.dev/v1): install Knative Eventing');
      expect(message).toContain('  kind SinkBinding (sources.knative.dev/v1): install Knative Eventing');
      expect(message).toContain(
        '  kind KafkaSink (eventing.knative.dev/v1alpha1): install the Knative Kafka broker and sink knative-v1.17.0',
      );
      expect(message).toContain(
        '  kind Service (serving.knative.dev/v1): install Knative Serving knative-v1.17.0',
      );
      expect(message).toContain(
        '  kind Kafka (kafka.strimzi.io/v1beta2): install the Strimzi 0.48.0 cluster operator',
      );
      expect(message).toContain('  kind KafkaNodePool (kafka.strimzi.io/v1beta2): install the Strimzi');
      expect(message).toContain('  namespace kafka: install the Strimzi 0.48.0 cluster operator');
      expect(message).toContain('  namespace knative-eventing: install Knative Eventing');
      expect(message).toContain('  namespace knative-serving: install Knative Serving');
      expect(message).toContain('infra/scripts/install-prerequisites.sh installs them all');
      expect(message).not.toContain('namespace tributary'); // the overlay creates it
      expect(await read(kube, NAMESPACE)).toBeUndefined();

      // With Knative installed, only Strimzi is left.
      await installCrds(kube, ['knative-serving', 'knative-eventing', 'eventing-kafka-broker-standin']);
      await createNamespaces(kube, ['knative-serving', 'knative-eventing']);
      const again = io();
      expect(await deployCommand.run(['dev'], again.io)).toBe(1);
      expect(
        again.err
          .join('\n')
          .split('\n')
          .filter((l) => l.startsWith('  ')),
      ).toEqual([
        '  kind Kafka (kafka.strimzi.io/v1beta2): install the Strimzi 0.48.0 cluster operator (strimzi-cluster-operator-0.48.0.yaml, into namespace kafka)',
        '  kind KafkaNodePool (kafka.strimzi.io/v1beta2): install the Strimzi 0.48.0 cluster operator (strimzi-cluster-operator-0.48.0.yaml, into namespace kafka)',
        '  namespace kafka: install the Strimzi 0.48.0 cluster operator (strimzi-cluster-operator-0.48.0.yaml, into namespace kafka)',
      ]);
      await installCrds(kube, ['strimzi']);
      await createNamespaces(kube, PREREQUISITE_NAMESPACES);
    },
    5 * 60_000,
  );

  it('refuses to start without the Secrets, then `tributary keys --all` makes every Secret and key both overlays read', async () => {
    // infra/README.md: kubectl create namespace tributary; tributary keys --all | kubectl apply -f -
    await applyAsTest(kube, NAMESPACE);
    const before = io();
    expect(await deployCommand.run(['dev'], before.io)).toBe(1);
    expect(before.err.join('\n')).toMatch(
      /^tributary deploy: missing Secrets .*tributary\/tributary-postgres/,
    );

    const keys = io();
    expect(await keysCommand.run(['--all'], keys.io)).toBe(0);
    const secrets = parseAllDocuments(keys.out.join('\n')).map((d) => d.toJS() as K8sObject);
    for (const secret of secrets) await applyAsTest(kube, secret);

    const cluster = new Cluster(loadKubeConfig({ KUBECONFIG: kube.kubeconfig }));
    for (const objs of [overlays.dev, overlays.prod]) {
      expect(await missingSecrets(cluster, objs)).toEqual([]);
      const refs = secretKeyRefs(objs);
      expect(refs.length).toBeGreaterThan(5);
      for (const ref of refs) {
        const live = await read(kube, {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: ref.name, namespace: ref.namespace },
        });
        expect({ ...ref, has: Object.keys((live?.data as object) ?? {}).includes(ref.key) }).toEqual({
          ...ref,
          has: true,
        });
      }
    }
  }, 60_000);

  it(
    'dev: the API server accepts every object; deploy waits for the controllers and reports their reasons',
    async () => {
      const objs = overlays.dev;
      const t = io();
      const running = deployCommand.run(['dev', '--timeout', '5m'], t.io);
      const ended = running.then((code) => {
        throw new Error(`deploy ended with ${code} before waiting:\n${t.err.join('\n')}`);
      });
      ended.catch(() => {});
      await Promise.race([
        waitFor(() => t.out.some((l) => l.startsWith('waiting for ')), { timeoutMs: 120_000 }),
        ended,
      ]);
      // The Kafka broker controller first reports a problem, then everything converges.
      const failing = runControllers(kube, objs, (live) =>
        live.kind === 'Broker'
          ? {
              observedGeneration: live.metadata.generation,
              conditions: [
                readyCondition('False', 'TopicNotReady', 'failed to create topic: tributary-default'),
              ],
            }
          : undefined,
      );
      await waitFor(
        () =>
          t.out.includes(
            'waiting Broker tributary/default: False (TopicNotReady: failed to create topic: tributary-default)',
          ),
        { timeoutMs: 60_000, message: `no Broker reason in:\n${t.out.join('\n')}` },
      );
      await failing.stop();
      const controllers = runControllers(kube, objs);
      const code = await running;
      await controllers.stop();
      expect(t.err).toEqual([]);
      expect(code).toBe(0);
      expect(t.out.at(-1)).toMatch(new RegExp(`^deployed ${objs.length} objects, all ready in [\\d.]+s$`));
      expect(t.out).toContain('ready   Broker tributary/default');
      expect(t.out).toContain('ready   Deployment tributary/db-events (1/1 available)');
      expect(t.out.filter((l) => l.startsWith('applied '))).toHaveLength(objs.length);
      for (const obj of objs)
        expect([describeObject(obj), !!(await read(kube, obj))]).toEqual([describeObject(obj), true]);
      // What the server stored is what the overlay says, e.g. db-events' single replica with Recreate.
      const dbEvents = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'db-events')!;
      expect((await read(kube, dbEvents))?.spec).toMatchObject({
        replicas: 1,
        strategy: { type: 'Recreate' },
      });
      // The Knative ConfigMaps get only Tributary's keys.
      const network = await read(kube, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'config-network', namespace: 'knative-serving' },
      });
      expect(network?.data).toEqual({ 'ingress-class': 'kourier.ingress.networking.knative.dev' });
    },
    10 * 60_000,
  );

  it(
    'dev: a second deploy is a no-op (no resourceVersion changes)',
    async () => {
      const before = await resourceVersions(kube, overlays.dev);
      const t = io();
      expect(await deployCommand.run(['dev', '--no-wait'], t.io)).toBe(0);
      expect(await resourceVersions(kube, overlays.dev)).toEqual(before);
    },
    5 * 60_000,
  );

  it('dev: Pod Security "restricted" admits every pod template', async () => {
    const ns = await read(kube, NAMESPACE);
    expect(ns?.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
    // The ServiceAccount controller's `default` account, which a Pod needs to be admitted at all.
    await applyAsTest(kube, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace: 'tributary' },
    });
    // The check has teeth: a pod without a restricted security context is refused.
    const loose = await kube.request('POST', '/api/v1/namespaces/tributary/pods?dryRun=All', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'loose' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    expect(loose.status).toBe(403);
    expect(loose.text).toContain('violates PodSecurity \\"restricted:latest\\"');
    const results = await admitPodTemplates(kube, overlays.dev);
    expect(results.length).toBeGreaterThanOrEqual(10);
    expect(results.filter((r) => r.status !== 201)).toEqual([]);
  }, 60_000);

  it(
    'an object the server refuses is reported with its reason; the others are still applied',
    async () => {
      const objs = structuredClone(overlays.dev);
      const auth = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'auth-hooks')!;
      (auth.spec as Record<string, unknown>).replicaz = 2;
      // Knative's Trigger schema keeps unknown fields: the same kind of typo there passes the server
      // (`tributary validate` is the guard for Triggers).
      const trigger = objs.find((o) => o.kind === 'Trigger')!;
      (trigger.spec as Record<string, unknown>).filterz = { attributes: { type: 'x' } };
      const postgrest = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'postgrest')!;
      postgrest.metadata.labels = {
        ...postgrest.metadata.labels,
        'tributary.dev/marker': 'applied-after-a-failure',
      };
      const file = join(await mkdtemp(join(tmpdir(), 'tributary-deploy-')), 'typo.yaml');
      await writeFile(file, objs.map((o) => stringify(o)).join('---\n'));
      const t = io();
      expect(await deployCommand.run(['-f', file, '--no-wait'], t.io)).toBe(1);
      expect(t.err[0]).toBe(
        `applied ${objs.length - 1} of ${objs.length} objects; the API server refused 1:`,
      );
      // Kubernetes 1.34 answers with a 500 (kubernetes/kubernetes#122480): still a refusal of one object.
      expect(t.err[1]).toBe(
        '  Deployment tributary/auth-hooks: HTTP 500: failed to create typed patch object (tributary/auth-hooks; apps/v1, Kind=Deployment): .spec.replicaz: field not declared in schema',
      );
      expect(t.err[2]).toBe(
        '    fix: the manifest sets .spec.replicaz, which the schema of apps/v1 Deployment does not declare (a typo, or a field of another version): correct or remove it',
      );
      expect(((await read(kube, trigger))?.spec as Record<string, unknown>).filterz).toEqual({
        attributes: { type: 'x' },
      });
      // postgrest comes after auth-hooks in apply order, and was still applied.
      expect((await read(kube, postgrest))?.metadata.labels).toMatchObject({
        'tributary.dev/marker': 'applied-after-a-failure',
      });
    },
    5 * 60_000,
  );

  it(
    'dev -> prod on one cluster: the StatefulSets are refused with the fix; every other object is still applied',
    async () => {
      const t = io();
      expect(await deployCommand.run(['prod', '--no-wait'], t.io)).toBe(1);
      const message = t.err.join('\n');
      const total = overlays.prod.length;
      expect(t.err[0]).toBe(`applied ${total - 2} of ${total} objects; the API server refused 2:`);
      for (const name of ['postgres', 'minio']) {
        expect(message).toMatch(
          new RegExp(
            `^ {2}StatefulSet tributary/${name}: HTTP 422: StatefulSet.apps "${name}" is invalid: spec: Forbidden: updates to statefulset spec for fields other than`,
            'm',
          ),
        );
        expect(message).toContain(
          `\`kubectl delete statefulset ${name} -n tributary --cascade=orphan\`, then deploy again`,
        );
      }
      expect(message).toContain("    fix: Kubernetes cannot change a StatefulSet's volumeClaimTemplates");
      // Everything else is prod now, the prod-only objects (PodDisruptionBudgets, HPAs) included.
      for (const obj of overlays.prod.filter((o) => o.kind !== 'StatefulSet')) {
        const live = await read(kube, obj);
        expect([describeObject(obj), live !== undefined]).toEqual([describeObject(obj), true]);
      }
    },
    5 * 60_000,
  );

  it(
    'prod, after following the fix: every object accepted and ready, a second deploy is a no-op, pods admitted',
    async () => {
      // The fix's `kubectl delete statefulset --cascade=orphan` leaves an orphan finalizer for the garbage
      // collector, which this cluster does not run: delete in the background instead (there are no pods).
      for (const obj of overlays.prod.filter((o) => o.kind === 'StatefulSet')) {
        const r = await kube.request('DELETE', `${resourcePath(obj)}?propagationPolicy=Background`);
        expect(r.status).toBe(200);
        await waitFor(async () => (await read(kube, obj)) === undefined, { timeoutMs: 30_000 });
      }
      const objs = overlays.prod;
      const controllers = runControllers(kube, objs);
      const t = io();
      const code = await deployCommand.run(['prod', '--timeout', '5m'], t.io);
      await controllers.stop();
      expect(t.err).toEqual([]);
      expect(code).toBe(0);
      expect(t.out.at(-1)).toMatch(new RegExp(`^deployed ${objs.length} objects, all ready in [\\d.]+s$`));
      const postgres = objs.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'postgres')!;
      const claim = ((await read(kube, postgres))?.spec as { volumeClaimTemplates: { spec: unknown }[] })
        .volumeClaimTemplates[0]?.spec;
      expect(claim).toMatchObject({ resources: { requests: { storage: '50Gi' } } });

      const before = await resourceVersions(kube, objs);
      expect(await deployCommand.run(['prod', '--no-wait'], io().io)).toBe(0);
      expect(await resourceVersions(kube, objs)).toEqual(before);

      const results = await admitPodTemplates(kube, objs);
      expect(results.filter((r) => r.status !== 201)).toEqual([]);
      // The controllers' statuses went through the real CRDs' status subresources and schemas.
      const kafka = (await read(kube, objs.find((o) => o.kind === 'Kafka')!))!;
      expect(kafka.status).toMatchObject({
        observedGeneration: kafka.metadata.generation,
        conditions: [{ type: 'Ready', status: 'True' }],
      });
    },
    10 * 60_000,
  );
});
