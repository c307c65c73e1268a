import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  KUBERNETES_STAGING_MODULES,
  KUBERNETES_VERSION,
  type KubeApiServerInstance,
  kubeApiServerGoMod,
  sharedKubeApiServer,
} from '@tributary/embedded';
import { uniqueBucket } from './helpers.js';
import { CRD_SETS, crdsOf, createNamespaces, installCrds } from './kube-crds.js';

let kube: KubeApiServerInstance;

beforeAll(async () => {
  kube = await sharedKubeApiServer();
}, 30 * 60_000);

afterAll(async () => {
  await kube?.stop(); // no-op for the shared instance: the global teardown stops it
});

describe('the test kube-apiserver', () => {
  it('is the pinned release, on loopback, with a kubeconfig for the admin client certificate', async () => {
    const version = await kube.request('GET', '/version');
    expect(version.status).toBe(200);
    expect(version.body).toMatchObject({ gitVersion: KUBERNETES_VERSION, major: '1' });
    expect(kube.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const kubeconfig = readFileSync(kube.kubeconfig, 'utf8');
    expect(kubeconfig).toContain(`server: ${kube.server}`);
    expect(kubeconfig).toContain('client-certificate: ');
    // The admin is in system:masters.
    const review = await kube.request('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'SelfSubjectReview',
    });
    expect(review.body).toMatchObject({
      status: {
        userInfo: { username: 'tributary-admin', groups: expect.arrayContaining(['system:masters']) },
      },
    });
  });

  it('gives a client without the admin certificate nothing (RBAC)', async () => {
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = httpsRequest(
        `${kube.server}/api/v1/namespaces`,
        { ca: readFileSync(kube.tls.ca) },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });

  it('serves the vendored CRDs once installed', async () => {
    const names = await installCrds(kube, CRD_SETS);
    expect(names).toEqual(
      expect.arrayContaining(['brokers.eventing.knative.dev', 'kafkas.kafka.strimzi.io']),
    );
    const ns = uniqueBucket('crds');
    await createNamespaces(kube, [ns]);
    const broker = await kube.request('POST', `/apis/eventing.knative.dev/v1/namespaces/${ns}/brokers`, {
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Broker',
      metadata: { name: 'default' },
      spec: {},
    });
    expect(broker.status).toBe(201);
    // Strimzi's schema is structural: an unknown field is refused under strict field validation.
    const kafka = await kube.request(
      'POST',
      `/apis/kafka.strimzi.io/v1beta2/namespaces/${ns}/kafkas?fieldValidation=Strict`,
      {
        apiVersion: 'kafka.strimzi.io/v1beta2',
        kind: 'Kafka',
        metadata: { name: 'k' },
        spec: { kafka: { listeners: [], replicaz: 3 } },
      },
    );
    expect(kafka.status).toBe(400);
    expect(kafka.text).toContain('unknown field \\"spec.kafka.replicaz\\"');
  }, 120_000);
});

describe('the kube-apiserver build module', () => {
  it('replaces each of the 31 staging modules with the published release', () => {
    const goMod = kubeApiServerGoMod();
    expect(KUBERNETES_STAGING_MODULES).toHaveLength(31);
    expect(goMod).toContain(`require k8s.io/kubernetes ${KUBERNETES_VERSION}`);
    expect(goMod).toContain('\tk8s.io/apiserver => k8s.io/apiserver v0.34.2\n');
    expect(goMod.match(/=> k8s\.io\/\S+ v0\.34\.2/g)).toHaveLength(31);
  });

  it('has a CRD file for every vendored set', () => {
    for (const set of CRD_SETS) expect(crdsOf(set).length).toBeGreaterThan(0);
  });
});
