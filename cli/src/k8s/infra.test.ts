/**
 * CI checks of infra/ and eventing/config: every overlay renders with the pinned kustomize, every rendered
 * document validates against the Kubernetes (kubernetes-models) and Knative (@kubernetes-models/knative)
 * schemas (Strimzi's Kafka/KafkaNodePool and Knative's KafkaSink, which have no models package, against
 * the structural schemas below), every Trigger passes the broker's resource loader, and the copies kept for
 * kustomize match their sources.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import * as knative from '@kubernetes-models/knative';
import { loadResources, parseResources } from '@tributary/eventing';
import * as k8s from 'kubernetes-models';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { ensureKustomize, kustomizeBuild } from './kustomize.js';
import { groupOf, type K8sObject, parseManifests } from './manifests.js';

const ROOT = join(import.meta.dirname, '../../..');
const OVERLAYS = readdirSync(join(ROOT, 'infra/overlays'));

type ModelClass = { apiVersion: string; kind: string; new (data: unknown): { validate(): void } };

/** apiVersion/kind -> model class, from every namespace the two packages export. */
function collectModels(): Map<string, ModelClass> {
  const models = new Map<string, ModelClass>();
  const walk = (ns: unknown, depth: number) => {
    if (!ns || typeof ns !== 'object' || depth > 3) return;
    for (const value of Object.values(ns)) {
      const m = value as Partial<ModelClass>;
      if (typeof value === 'function' && typeof m.apiVersion === 'string' && typeof m.kind === 'string') {
        models.set(`${m.apiVersion}/${m.kind}`, value as ModelClass);
      } else if (typeof value === 'object') {
        walk(value, depth + 1);
      }
    }
  };
  walk(k8s, 0);
  walk(knative, 0);
  return models;
}

const quantity = z.union([z.string().regex(/^\d+(\.\d+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$/), z.number()]);
const resources = z
  .object({ requests: z.record(z.string(), quantity), limits: z.record(z.string(), quantity).optional() })
  .strict();
const metadata = z.object({ name: z.string().min(1), namespace: z.string().min(1) }).passthrough();
const storage = z
  .object({
    type: z.literal('jbod'),
    volumes: z.array(
      z
        .object({
          id: z.number().int(),
          type: z.enum(['persistent-claim', 'ephemeral']),
          size: z.string().regex(/^\d+(Mi|Gi|Ti)$/),
          deleteClaim: z.boolean(),
          kraftMetadata: z.literal('shared').optional(),
        })
        .strict(),
    ),
  })
  .strict();

/** The parts of the Strimzi (kafka.strimzi.io/v1beta2) and KafkaSink CRDs that infra/ uses. */
const STRUCTURAL: Record<string, z.ZodType> = {
  'kafka.strimzi.io/v1beta2/KafkaNodePool': z
    .object({
      apiVersion: z.string(),
      kind: z.string(),
      metadata: metadata.extend({ labels: z.object({ 'strimzi.io/cluster': z.string() }).passthrough() }),
      spec: z
        .object({
          replicas: z.number().int().min(1),
          roles: z.array(z.enum(['controller', 'broker'])).min(1),
          storage,
          resources,
          jvmOptions: z.record(z.string(), z.string()).optional(),
          template: z.object({}).passthrough().optional(),
        })
        .strict(),
    })
    .strict(),
  'kafka.strimzi.io/v1beta2/Kafka': z
    .object({
      apiVersion: z.string(),
      kind: z.string(),
      metadata,
      spec: z
        .object({
          kafka: z
            .object({
              version: z.string().regex(/^\d+\.\d+\.\d+$/),
              listeners: z
                .array(
                  z
                    .object({
                      name: z.string().regex(/^[a-z0-9]{1,11}$/),
                      port: z.number().int(),
                      type: z.enum([
                        'internal',
                        'route',
                        'loadbalancer',
                        'nodeport',
                        'ingress',
                        'cluster-ip',
                      ]),
                      tls: z.boolean(),
                    })
                    .strict(),
                )
                .min(1),
              config: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
              rack: z.object({ topologyKey: z.string() }).strict().optional(),
            })
            .strict(),
          entityOperator: z.object({}).passthrough().optional(),
          kafkaExporter: z
            .object({
              groupRegex: z.string().min(1),
              topicRegex: z.string().min(1),
              resources,
            })
            .strict()
            .optional(),
        })
        .strict(),
    })
    .strict(),
  'eventing.knative.dev/v1alpha1/KafkaSink': z
    .object({
      apiVersion: z.string(),
      kind: z.string(),
      metadata,
      spec: z
        .object({
          topic: z.string().min(1),
          bootstrapServers: z.array(z.string().regex(/^[^:]+:\d+$/)).min(1),
          contentMode: z.enum(['binary', 'structured']),
          numPartitions: z.number().int().min(1),
          replicationFactor: z.number().int().min(1),
        })
        .strict(),
    })
    .strict(),
};

const rendered = new Map<string, K8sObject[]>();
const models = collectModels();

beforeAll(async () => {
  // Builds the pinned kustomize with Go on a fresh machine (cached in ~/.cache/tributary afterwards).
  await ensureKustomize(process.env, (l) => process.stderr.write(`${l}\n`));
  for (const overlay of OVERLAYS) {
    rendered.set(
      overlay,
      parseManifests(await kustomizeBuild(join(ROOT, 'infra/overlays', overlay), process.env)),
    );
  }
}, 20 * 60_000);

describe.each(OVERLAYS)('infra/overlays/%s', (overlay) => {
  const docs = () => rendered.get(overlay) ?? [];

  it('renders with kustomize, every object named and namespaced where it must be', () => {
    expect(docs().length).toBeGreaterThan(30);
    const keys = docs().map(
      (d) => `${d.apiVersion}/${d.kind}/${d.metadata.namespace ?? ''}/${d.metadata.name}`,
    );
    expect(new Set(keys).size).toBe(keys.length);
    for (const d of docs()) {
      if (d.kind !== 'Namespace')
        expect([d.kind, d.metadata.namespace]).toEqual([d.kind, expect.any(String)]);
    }
  });

  it('validates every document against the Kubernetes, Knative or structural CRD schemas', () => {
    const problems: string[] = [];
    const by = { model: 0, structural: 0 };
    for (const d of docs()) {
      const key = `${d.apiVersion}/${d.kind}`;
      const label = `${d.kind} ${d.metadata.namespace}/${d.metadata.name}`;
      const Model = models.get(key);
      const schema = STRUCTURAL[key];
      try {
        if (Model) {
          // The SinkBinding model's schema marks `status` required, which no manifest has: give it an empty one.
          new Model(d.kind === 'SinkBinding' ? { ...d, status: {} } : d).validate();
          by.model++;
        } else if (schema) {
          schema.parse(d);
          by.structural++;
        } else {
          problems.push(`${label}: no schema for ${key}`);
        }
      } catch (err) {
        problems.push(`${label}: ${(err as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
    expect(by.model).toBeGreaterThan(25);
    expect(by.structural).toBe(3);
  });

  it('passes every Trigger (with its Broker and kafka-broker-config) through the broker resource loader', () => {
    const eventing = docs().filter(
      (d) => d.kind === 'Trigger' || d.kind === 'Broker' || d.metadata.name === 'kafka-broker-config',
    );
    const loaded = parseResources(eventing.map((d, i) => ({ file: `${overlay}#${i}`, text: stringify(d) })));
    expect(loaded.brokers.map((b) => `${b.namespace}/${b.name}`)).toEqual(['tributary/default']);
    expect(loaded.triggers.length).toBe(docs().filter((d) => d.kind === 'Trigger').length);
    expect(loaded.triggers.length).toBeGreaterThanOrEqual(3);
    expect(loaded.brokers[0]?.config.bootstrapServers).toEqual(['tributary-kafka-bootstrap.kafka.svc:9092']);
  });

  it('gives every container requests and memory limits, probes, and a non-root security context', () => {
    for (const d of docs()) {
      const pod = podSpec(d);
      if (!pod) continue;
      for (const c of pod.containers) {
        const where = `${d.kind} ${d.metadata.name}`;
        expect([where, c.resources?.requests?.memory, c.resources?.limits?.memory]).toEqual([
          where,
          expect.any(String),
          expect.any(String),
        ]);
        expect([where, Boolean(c.readinessProbe && c.livenessProbe)]).toEqual([where, true]);
        const nonRoot = c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
        expect([where, nonRoot, c.securityContext?.allowPrivilegeEscalation]).toEqual([where, true, false]);
      }
    }
  });

  it('deploys the ops dashboard: read-only RBAC, a NetworkPolicy, Prometheus, Postgres and operator sign-in', () => {
    const find = (kind: string, name: string) =>
      docs().find((x) => x.kind === kind && x.metadata.name === name && x.metadata.namespace === 'tributary');
    const deployment = find('Deployment', 'dashboard');
    const pod = (deployment?.spec as { template: { spec: DashboardPod } } | undefined)?.template.spec;
    expect(pod?.serviceAccountName).toBe('dashboard');
    expect(pod?.containers[0]?.image).toMatch(/^ghcr\.io\/tributary\/dashboard:(latest|0\.1\.0)$/);
    // One Containerfile builds every package; the dashboard's page (public/) ships next to dist/.
    const containerfile = readFileSync(join(ROOT, 'Containerfile'), 'utf8');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the Containerfile's own shell variable, matched literally
    expect(containerfile).toContain('--filter "${PACKAGE}" deploy --prod --legacy');
    expect(containerfile).toContain('COPY --from=build /out/public ./public');
    expect(containerfile).toMatch(/^USER 1000:1000$/m);
    expect(readFileSync(join(ROOT, 'infra/README.md'), 'utf8')).toContain(
      'for s in db-events storage-events auth-hooks dashboard; do',
    );
    const env = Object.fromEntries(
      (pod?.containers[0]?.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom?.secretKeyRef]),
    );
    expect(env).toMatchObject({
      DASHBOARD_PROMETHEUS_URL: expect.stringMatching(/^http:\/\/.+:9090$/),
      DASHBOARD_KUBERNETES: 'true',
      DASHBOARD_NAMESPACE: 'tributary',
      DATABASE_URL: { name: 'tributary-postgres', key: 'url' },
      DASHBOARD_AUTH: 'jwt',
      DASHBOARD_JWT_SECRET: { name: 'tributary-jwt', key: 'jwt-secret' },
    });
    expect(find('Service', 'dashboard')?.spec).toMatchObject({
      selector: { 'app.kubernetes.io/name': 'dashboard' },
    });
    expect(find('ServiceAccount', 'dashboard')).toBeDefined();
    const role = find('Role', 'dashboard-read') as unknown as {
      rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    };
    const granted = role.rules.flatMap((r) => r.resources.map((res) => `${r.apiGroups[0]}/${res}`)).sort();
    expect(granted).toEqual([
      'eventing.knative.dev/brokers',
      'eventing.knative.dev/triggers',
      'serving.knative.dev/revisions',
      'serving.knative.dev/services',
    ]);
    for (const r of role.rules) expect(r.verbs.sort()).toEqual(['get', 'list', 'watch']);
    expect(find('RoleBinding', 'dashboard-read')).toMatchObject({
      roleRef: { kind: 'Role', name: 'dashboard-read' },
      subjects: [{ kind: 'ServiceAccount', name: 'dashboard', namespace: 'tributary' }],
    });
    expect(find('NetworkPolicy', 'dashboard')?.spec).toMatchObject({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'dashboard' } },
      policyTypes: ['Ingress'],
    });
    // The dead-letter store's Postgres lets the dashboard in.
    const pg = find('NetworkPolicy', 'postgres') as unknown as {
      spec: { ingress: { from: { podSelector?: { matchExpressions?: { values: string[] }[] } }[] }[] };
    };
    expect(pg.spec.ingress[0]?.from[0]?.podSelector?.matchExpressions?.[0]?.values).toContain('dashboard');
    // Kafka Exporter (consumer lag per Trigger) is on.
    const kafka = docs().find((x) => x.kind === 'Kafka') as unknown as { spec: { kafkaExporter?: unknown } };
    expect(kafka.spec.kafkaExporter).toMatchObject({ groupRegex: 'knative-.*' });
  });

  it('keeps db-events at one replica with the Recreate strategy (one consumer per slot)', () => {
    const d = docs().find((x) => x.kind === 'Deployment' && x.metadata.name === 'db-events');
    expect(d?.spec).toMatchObject({ replicas: 1, strategy: { type: 'Recreate' } });
  });
});

describe('the validators', () => {
  it('reject what a cluster would reject', () => {
    const Deployment = models.get('apps/v1/Deployment');
    const Trigger = models.get('eventing.knative.dev/v1/Trigger');
    const bad = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x' },
      spec: { replicas: 'two' },
    };
    expect(() => Deployment && new Deployment(bad).validate()).toThrow('replicas');
    const trigger = {
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Trigger',
      metadata: { name: 't' },
      spec: {},
    };
    expect(() => Trigger && new Trigger(trigger).validate()).toThrow('subscriber');
    expect(() => STRUCTURAL['eventing.knative.dev/v1alpha1/KafkaSink']?.parse({ spec: {} })).toThrow();
  });
});

describe('reference budget', () => {
  it('dev: idle memory requests of the platform other than Kafka stay within 1.5 GiB', () => {
    let total = 0;
    for (const d of rendered.get('dev') ?? []) {
      const pod = podSpec(d);
      if (!pod || d.metadata.namespace === 'kafka') continue;
      const spec = d.spec as {
        replicas?: number;
        template?: { metadata?: { annotations?: Record<string, string> } };
      };
      // Knative Services idle at min-scale (0 = scaled to zero).
      const replicas =
        d.kind === 'Service'
          ? Number(spec.template?.metadata?.annotations?.['autoscaling.knative.dev/min-scale'] ?? 0)
          : (spec.replicas ?? 1);
      for (const c of pod.containers) total += replicas * bytes(c.resources?.requests?.memory ?? '0');
    }
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(1.5 * 1024 ** 3);
  });

  it('prod: Kafka on three nodes with replication factor 3 everywhere', () => {
    const prod = rendered.get('prod') ?? [];
    const pool = prod.find((d) => d.kind === 'KafkaNodePool');
    expect((pool?.spec as { replicas: number }).replicas).toBe(3);
    const cfg = prod.find((d) => d.metadata.name === 'kafka-broker-config') as
      | { data: Record<string, string> }
      | undefined;
    expect(cfg?.data['default.topic.replication.factor']).toBe('3');
    expect(
      (prod.find((d) => d.kind === 'KafkaSink')?.spec as { replicationFactor: number }).replicationFactor,
    ).toBe(3);
  });
});

/**
 * The images infra/README.md's build loops make: `{ image, pkg, fn }` per image, from the loops' word lists and
 * their `podman build` lines (so a service or function missing from the instructions fails here).
 */
function imageBuilds(): { image: string; pkg: string; fn: string | undefined }[] {
  const readme = readFileSync(join(ROOT, 'infra/README.md'), 'utf8');
  const out: { image: string; pkg: string; fn: string | undefined }[] = [];
  for (const m of readme.matchAll(/^for (\w+) in ([\w -]+); do\n\s+podman build (.*)$/gm)) {
    const [, v, names, args] = m as unknown as [string, string, string, string];
    for (const name of names.trim().split(/\s+/)) {
      const sub = (t: string | undefined) => t?.replaceAll(`$${v}`, name);
      out.push({
        image: sub(args.match(/-t \$REGISTRY\/(\S+):\$TAG/)?.[1]) ?? '',
        pkg: sub(args.match(/--build-arg PACKAGE=(\S+)/)?.[1]) ?? '',
        fn: sub(args.match(/--build-arg FUNCTION=(\S+)/)?.[1]),
      });
    }
  }
  return out;
}

describe('the one Containerfile', () => {
  const containerfile = readFileSync(join(ROOT, 'Containerfile'), 'utf8');

  it('builds the package named by PACKAGE, runs as user 1000, and names no package itself', () => {
    expect(containerfile).toContain(`pnpm --filter "\${PACKAGE}" deploy --prod --legacy /out`);
    expect(containerfile).toMatch(/^USER 1000:1000$/m);
    const instructions = containerfile.split('\n').filter((l) => !l.startsWith('#'));
    const named = instructions.flatMap((l) => l.match(/@tributary\/[\w-]+/g) ?? []);
    expect(named).toEqual(['@tributary/function-runtime']);
  });

  it('a function image hosts dist/index.js in the function runtime; a service image runs dist/index.js', () => {
    expect(containerfile).toContain(`FUNCTION_NAME=\${FUNCTION}`);
    expect(containerfile).toContain(`FUNCTION_PATH=\${FUNCTION:+/app/dist/index.js}`);
    expect(containerfile).toContain(
      `TRIBUTARY_MAIN=\${FUNCTION:+node_modules/@tributary/function-runtime/dist/main.js}`,
    );
    expect(containerfile).toMatch(
      /^CMD exec node --enable-source-maps "\$\{TRIBUTARY_MAIN:-dist\/index\.js\}"$/m,
    );
  });

  it('no package keeps a Containerfile of its own', () => {
    const dirs = ['services', 'services/functions'].flatMap((d) =>
      readdirSync(join(ROOT, d)).map((n) => join(ROOT, d, n)),
    );
    expect(dirs.filter((d) => existsSync(join(d, 'Containerfile')))).toEqual([]);
  });
});

describe('sources and copies stay in step', () => {
  const functions = readdirSync(join(ROOT, 'services/functions')).filter((f) =>
    existsSync(join(ROOT, 'services/functions', f, 'service.yaml')),
  );

  it.each(functions)('function %s: Trigger copy, Knative Service and image build', (name) => {
    const dir = join(ROOT, 'services/functions', name);
    const trigger = parse(readFileSync(join(dir, 'trigger.yaml'), 'utf8'));
    delete trigger.metadata.namespace;
    expect(parse(readFileSync(join(ROOT, 'eventing/config/triggers', `${name}.yaml`), 'utf8'))).toEqual(
      trigger,
    );
    expect(readFileSync(join(ROOT, 'eventing/config/kustomization.yaml'), 'utf8')).toContain(
      `triggers/${name}.yaml`,
    );

    const own = parse(readFileSync(join(dir, 'service.yaml'), 'utf8'));
    const infra = parse(readFileSync(join(ROOT, 'infra/base/functions', `${name}.yaml`), 'utf8'));
    const container = (s: typeof own) => s.spec.template.spec.containers[0];
    expect(container(infra).image).toBe(container(own).image);
    const envNames = (s: typeof own) =>
      ((container(s).env ?? []) as { name: string }[]).map((e) => e.name).sort();
    expect(envNames(infra)).toEqual(envNames(own));
    expect(infra.spec.template.metadata.annotations).toEqual(own.spec.template.metadata.annotations);
    expect(readFileSync(join(ROOT, 'infra/base/functions/kustomization.yaml'), 'utf8')).toContain(
      `${name}.yaml`,
    );

    // The one Containerfile builds it with PACKAGE=@tributary/fn-<name> FUNCTION=<name> (infra/README.md).
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string };
    expect(pkg.name).toBe(`@tributary/fn-${name}`);
    expect(imageBuilds()).toContainEqual({ image: `fn-${name}`, pkg: pkg.name, fn: name });
  });

  it.each(['db-events', 'storage-events', 'auth-hooks'])('service %s: image build and Deployment', (name) => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'services', name, 'package.json'), 'utf8')) as {
      name: string;
    };
    expect(pkg.name).toBe(`@tributary/${name}`);
    expect(imageBuilds()).toContainEqual({ image: name, pkg: pkg.name, fn: undefined });
    const deployment = (rendered.get('dev') ?? []).find(
      (d) => d.kind === 'Deployment' && d.metadata.name === name,
    );
    expect(podSpec(deployment as K8sObject)?.containers[0]?.image).toBe(`ghcr.io/tributary/${name}:latest`);
    const binding = (rendered.get('dev') ?? []).find(
      (d) => d.kind === 'SinkBinding' && d.metadata.name === name,
    );
    expect(binding?.spec).toMatchObject({
      subject: { kind: 'Deployment', name },
      sink: { ref: { kind: 'Broker' } },
    });
  });

  it('`tributary broker --config eventing/config` loads the folder as it is', async () => {
    const loaded = await loadResources(join(ROOT, 'eventing/config'));
    expect(loaded.brokers.map((b) => `${b.namespace}/${b.name}`)).toEqual(['default/default']);
    expect(loaded.triggers.map((t) => t.name).sort()).toEqual(
      readdirSync(join(ROOT, 'eventing/config/triggers'))
        .map((f) => f.replace(/\.yaml$/, ''))
        .sort(),
    );
    expect(loaded.brokers[0]?.delivery?.deadLetterSink?.ref).toMatchObject({
      kind: 'KafkaSink',
      name: 'dead-letters',
    });
  });
});

interface DashboardPod {
  serviceAccountName?: string;
  containers: {
    image?: string;
    env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  }[];
}

interface Container {
  image?: string;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readinessProbe?: unknown;
  livenessProbe?: unknown;
  securityContext?: { runAsNonRoot?: boolean; allowPrivilegeEscalation?: boolean };
}

/** The pod template of a workload (Deployment, StatefulSet, Knative Service), if it is one. */
function podSpec(
  d: K8sObject | undefined,
): { containers: Container[]; securityContext?: { runAsNonRoot?: boolean } } | undefined {
  if (!d) return undefined;
  const workload =
    (groupOf(d.apiVersion) === 'apps' && (d.kind === 'Deployment' || d.kind === 'StatefulSet')) ||
    (groupOf(d.apiVersion) === 'serving.knative.dev' && d.kind === 'Service');
  if (!workload) return undefined;
  return (d.spec as { template: { spec: { containers: Container[] } } }).template.spec;
}

function bytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi)?$/.exec(q);
  if (!m) throw new Error(`unexpected memory quantity ${q}`);
  return Number(m[1]) * (m[2] === 'Ki' ? 1024 : m[2] === 'Mi' ? 1024 ** 2 : m[2] === 'Gi' ? 1024 ** 3 : 1);
}
