// Installs the vendored CRDs of Knative, Strimzi and the Kafka sink (fixtures/crds, see its README) into a
// test API server, as the operators' release YAML would.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { KubeApiServerInstance } from '@tributary/embedded';
import { parseAllDocuments } from 'yaml';

export const CRD_SETS = [
  'knative-serving',
  'knative-eventing',
  'strimzi',
  'eventing-kafka-broker-standin',
] as const;
export type CrdSet = (typeof CRD_SETS)[number];

/** Namespaces the operators' installs create (infra/scripts/install-prerequisites.sh). */
export const PREREQUISITE_NAMESPACES = ['knative-serving', 'knative-eventing', 'kafka'] as const;

export function crdFixturesDir(): string {
  return fileURLToPath(new URL('../fixtures/crds/', import.meta.url));
}

interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: { group: string; names: { kind: string }; versions: { name: string }[] };
}

/** The CRDs of one vendored set, parsed. */
export function crdsOf(set: CrdSet): Crd[] {
  const dir = join(crdFixturesDir(), set);
  const out: Crd[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      const obj = doc.toJS() as Crd | null;
      if (obj?.kind === 'CustomResourceDefinition') out.push(obj);
    }
  }
  return out;
}

async function check(
  kube: KubeApiServerInstance,
  method: string,
  path: string,
  body?: unknown,
  contentType?: string,
): Promise<unknown> {
  const r = await kube.request(method, path, body, contentType);
  if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status}: ${r.text.slice(0, 500)}`);
  return r.body;
}

/** Server-side applies `obj` as field manager `tributary-test` (the test acting as an installer). */
export async function applyAsInstaller(
  kube: KubeApiServerInstance,
  path: string,
  obj: unknown,
): Promise<unknown> {
  return check(
    kube,
    'PATCH',
    `${path}?fieldManager=tributary-test&force=true`,
    obj,
    'application/apply-patch+yaml',
  );
}

/** Applies the CRDs of `sets` and waits until each is Established. Returns their names. */
export async function installCrds(kube: KubeApiServerInstance, sets: readonly CrdSet[]): Promise<string[]> {
  const names: string[] = [];
  for (const set of sets) {
    for (const crd of crdsOf(set)) {
      await applyAsInstaller(
        kube,
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
        crd,
      );
      names.push(crd.metadata.name);
    }
  }
  const deadline = Date.now() + 120_000;
  for (const name of names) {
    for (;;) {
      const crd = (await check(
        kube,
        'GET',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
      )) as {
        status?: { conditions?: { type: string; status: string }[] };
      };
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established after 120 s`);
      await sleep(100);
    }
  }
  return names;
}

/** Creates (or keeps) the namespaces the operators' installs make. */
export async function createNamespaces(kube: KubeApiServerInstance, names: readonly string[]): Promise<void> {
  for (const name of names) {
    await applyAsInstaller(kube, `/api/v1/namespaces/${name}`, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name },
    });
  }
}

/** Everything `tributary deploy` expects to find: the operators' namespaces and every vendored CRD. */
export async function installPrerequisites(kube: KubeApiServerInstance): Promise<void> {
  await createNamespaces(kube, PREREQUISITE_NAMESPACES);
  await installCrds(kube, CRD_SETS);
}
