import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { TributaryError } from '@tributary/shared';
import { type Command, type CommandIo, parseOptions, UsageError } from '../command.js';
import { applyAll, checkPrerequisites } from '../k8s/apply.js';
import { Cluster } from '../k8s/client.js';
import { parseDurationMs } from '../k8s/format.js';
import { loadKubeConfig } from '../k8s/kubeconfig.js';
import { kustomizeBuild } from '../k8s/kustomize.js';
import { describe, inApplyOrder, parseManifests } from '../k8s/manifests.js';
import { missingSecrets } from '../k8s/secrets.js';

const usage = `usage: tributary deploy [overlay] [options]

Renders a kustomize overlay (infra/overlays/<overlay>: dev or prod; or the path of any kustomization
folder) with the pinned kustomize, then server-side applies every object through the Kubernetes API in
dependency order (Namespaces, CRDs, RBAC, ConfigMaps/Secrets, Services and policies, Kafka, StatefulSets,
the Broker, SinkBindings, Deployments, Knative Services, Triggers) and waits until they are ready.

Arguments:
  overlay                  dev (default), prod, or a folder with a kustomization.yaml

Options:
  -f, --file <path>        apply this rendered YAML stream instead of rendering an overlay
      --context <name>     kubeconfig context (default: the current one)
      --timeout <duration> longest wait for readiness, e.g. 300s, 10m (default: 10m)
      --no-wait            apply and return without waiting for readiness
      --dry-run            render and print the objects in apply order; contact no cluster
      --field-manager <n>  server-side apply field manager (default: tributary)
  -h, --help               show this help

Environment:
  KUBECONFIG               kubeconfig path(s) (default: ~/.kube/config; in a pod, its service account)
  KUSTOMIZE                kustomize binary to use instead of the pinned one (built with Go on first use,
                           cached in ~/.cache/tributary; see infra/scripts/install-kustomize.sh)

Before applying anything it checks that the cluster serves every kind (the Knative, Kafka sink and
Strimzi CRDs) and has every namespace the objects go into, and names what installs each one missing. An
object the API server refuses (e.g. a StatefulSet volume size change, which Kubernetes forbids) is
reported with the reason and the fix, and the other objects are still applied.

Exit status: 0 when everything is applied and ready; 1 otherwise (the objects refused or not ready are
listed).`;

/** infra/overlays/<name> in the nearest folder above `from` that has one. */
export function findOverlay(name: string, from: string): string | undefined {
  let dir = resolve(from);
  for (;;) {
    const candidate = join(dir, 'infra', 'overlays', name);
    if (existsSync(join(candidate, 'kustomization.yaml'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export const deployCommand: Command = {
  name: 'deploy',
  summary: 'render an infra/ overlay and server-side apply it to Kubernetes, waiting for readiness',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseOptions(argv, {
      file: { type: 'string', short: 'f' },
      context: { type: 'string' },
      timeout: { type: 'string' },
      'no-wait': { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      'field-manager': { type: 'string' },
    });
    if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
    if (values.file && positionals.length > 0) throw new UsageError('give an overlay or --file, not both');
    const timeoutMs = values.timeout === undefined ? 10 * 60_000 : parseDurationMs(values.timeout);
    if (timeoutMs === undefined) throw new UsageError(`invalid --timeout "${values.timeout}"`);
    try {
      return await deploy(io, {
        file: values.file,
        overlay: positionals[0] ?? 'dev',
        context: values.context,
        timeoutMs,
        wait: !values['no-wait'],
        dryRun: values['dry-run'] === true,
        fieldManager: values['field-manager'] ?? 'tributary',
      });
    } catch (err) {
      if (err instanceof TributaryError) {
        io.stderr(`tributary deploy: ${err.message}`);
        return 1;
      }
      throw err;
    }
  },
};

interface DeployOptions {
  file: string | undefined;
  overlay: string;
  context: string | undefined;
  timeoutMs: number;
  wait: boolean;
  dryRun: boolean;
  fieldManager: string;
}

async function deploy(io: CommandIo, o: DeployOptions): Promise<number> {
  let text: string;
  let source: string;
  if (o.file) {
    source = o.file;
    text = await readFile(o.file, 'utf8').catch((err: Error) => {
      throw new TributaryError(`cannot read ${o.file}: ${err.message}`, { code: 'MANIFEST_INVALID' });
    });
  } else {
    const isDir = existsSync(o.overlay) && statSync(o.overlay).isDirectory();
    const dir = isDir ? resolve(o.overlay) : findOverlay(o.overlay, process.cwd());
    if (!dir) {
      throw new UsageError(
        `no overlay "${o.overlay}": expected dev, prod (infra/overlays/<name> in this checkout) or a kustomization folder`,
      );
    }
    source = dir;
    io.stdout(`rendering ${dir}`);
    text = await kustomizeBuild(dir, io.env, io.stdout);
  }
  const objs = inApplyOrder(parseManifests(text, source));
  if (objs.length === 0)
    throw new TributaryError(`${source} renders no objects`, { code: 'MANIFEST_INVALID' });
  if (o.dryRun) {
    for (const [i, obj] of objs.entries()) io.stdout(`${String(i + 1).padStart(3)}  ${describe(obj)}`);
    io.stdout(`${objs.length} objects (dry run: nothing applied)`);
    return 0;
  }
  const kc = loadKubeConfig(io.env, o.context);
  const cluster = new Cluster(kc);
  io.stdout(
    `cluster ${kc.getCurrentCluster()?.server} (context ${kc.getCurrentContext()}): ${objs.length} objects`,
  );
  await checkPrerequisites(cluster, objs);
  const missing = await missingSecrets(cluster, objs);
  if (missing.length > 0) {
    const namespaces = [...new Set(missing.map((m) => m.namespace))];
    throw new TributaryError(
      `missing Secrets ${missing.map((m) => `${m.namespace}/${m.name}`).join(', ')}: create them first, e.g. \`tributary keys --all --namespace ${namespaces[0]} | kubectl apply -f -\` (infra/README.md)`,
      { code: 'SECRETS_MISSING' },
    );
  }
  const started = Date.now();
  const result = await applyAll(cluster, objs, {
    fieldManager: o.fieldManager,
    wait: o.wait,
    timeoutMs: o.timeoutMs,
    progress: io.stdout,
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  let ok = true;
  if (result.failed.length > 0) {
    ok = false;
    io.stderr(
      `applied ${result.applied.length} of ${objs.length} objects; the API server refused ${result.failed.length}:`,
    );
    for (const { object, error, fix } of result.failed) {
      io.stderr(`  ${describe(object)}: ${error}`);
      if (fix) io.stderr(`    fix: ${fix}`);
    }
  }
  if (result.skipped.length > 0) {
    ok = false;
    io.stderr(`${result.skipped.length} objects not applied because the cluster stopped answering:`);
    for (const object of result.skipped) io.stderr(`  ${describe(object)}`);
    io.stderr('run `tributary deploy` again once the API server answers');
  }
  if (result.notReady.length > 0) {
    ok = false;
    io.stderr(`${result.notReady.length} of ${result.applied.length} objects not ready after ${seconds}s:`);
    for (const { object, detail } of result.notReady) io.stderr(`  ${describe(object)}: ${detail}`);
    io.stderr('see `tributary status` and infra/README.md "Troubleshooting"');
  }
  if (!ok) return 1;
  io.stdout(
    `deployed ${result.applied.length} objects${o.wait ? ', all ready' : ' (not waiting for readiness)'} in ${seconds}s`,
  );
  return 0;
}
