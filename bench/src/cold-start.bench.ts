// Cold start of a function under local serving: first event -> handler start, p50/p95 over 20 cold
// starts, beside a warm invocation measured in the same run. Two scalings: with one prewarmed runtime
// process (the default of `tributary dev`) and with none (Node.js spawned from scratch per cold start); and
// three ways to run the TypeScript: the function and runtime through the tsx loader (as before), compiled
// JavaScript (the runtime's build and the function compiled by esbuild, what `tributary dev` does now), and
// Node.js' own type stripping of the function (Node 22.6+; skipped on older Node).
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FunctionBuilder } from '@tributary/cli/dev/functions';
import { createLocalServing, loadServiceSpec, type RuntimeCommand } from '@tributary/eventing';
import { createCloudEvent, createLogger, decodeHttp, encodeHttpBinary } from '@tributary/shared';

const COLD = Number(process.env.BENCH_COLD_STARTS ?? 20);
const WARM = Number(process.env.BENCH_WARM_INVOCATIONS ?? 200);
const repoRoot = resolve(import.meta.dirname, '../..');
const root = mkdtempSync(join(tmpdir(), 'tributary-coldstart-'));
const dir = join(root, 'clock');
mkdirSync(join(dir, 'src'), { recursive: true });
// The handler replies with the wall-clock time (µs precision) at which it started.
writeFileSync(
  join(dir, 'src/index.ts'),
  `export function handle(_ctx: unknown, e: { id: string }) {
     const startedAt = performance.timeOrigin + performance.now();
     return { specversion: '1.0', source: '/bench', type: 'bench.started', id: e.id, data: { startedAt } };
   }\n`,
);
writeFileSync(
  join(dir, 'service.yaml'),
  `apiVersion: serving.knative.dev/v1
kind: Service
metadata: { name: clock }
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/scale-to-zero-pod-retention-period: "100ms"
`,
);

const now = () => performance.timeOrigin + performance.now();
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Loader = 'tsx' | 'compiled' | 'native';
const runtimeDist = join(repoRoot, 'services/functions/runtime/dist/main.js');
/** Node's type stripping: on by default from 23.6/22.18, behind a flag from 22.6. */
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const stripFlag =
  major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18)
    ? []
    : ['--experimental-strip-types'];
const nativeTs = major > 22 || (major === 22 && minor >= 6);

function runtimeFor(loader: Loader): RuntimeCommand {
  const env = { LOG_LEVEL: 'warn' };
  if (loader === 'tsx')
    return {
      args: [
        '--conditions=development',
        '--import',
        'tsx',
        join(repoRoot, 'services/functions/runtime/src/main.ts'),
      ],
      env,
    };
  return { args: [...(loader === 'native' ? stripFlag : []), '--no-warnings', runtimeDist], env };
}

async function run(loader: Loader, prewarm: number) {
  const spec = loadServiceSpec(join(dir, 'service.yaml'));
  const builder = new FunctionBuilder(createLogger({ name: 'bench', level: 'silent' }));
  if (loader === 'compiled') await builder.buildAll([spec]);
  const serving = createLocalServing({
    services: [spec],
    runtime: runtimeFor(loader),
    logger: createLogger({ name: 'bench', level: process.env.BENCH_LOG_LEVEL ?? 'silent' }),
    prewarm,
  });
  await serving.start('http://127.0.0.1:1');
  const pool = serving.pools.get('default/clock')!;
  let n = 0;
  const invoke = async () => {
    const { headers, body } = encodeHttpBinary(
      createCloudEvent({ id: `e${n++}`, source: '/bench', type: 'bench.ping', data: {} }),
    );
    const t0 = now();
    const res = await pool.forward({ method: 'POST', headers, body: Buffer.from(body) });
    const t1 = now();
    if (res.status !== 200) throw new Error(`function answered ${res.status}: ${res.body}`);
    const started = (
      decodeHttp(res.headers as Record<string, string>, res.body)[0]!.data as { startedAt: number }
    ).startedAt;
    return { toHandler: started - t0, total: t1 - t0 };
  };
  const waitIdle = async () => {
    while (pool.scale > 0) await sleep(20);
    if (serving.stemCells) while (serving.stemCells.ready < prewarm) await sleep(20);
    await sleep(100);
  };
  await waitIdle();
  // One cold start to warm the TypeScript transform cache and the file cache, not counted.
  await invoke();
  const cold: number[] = [];
  for (let i = 0; i < COLD; i++) {
    await waitIdle();
    cold.push((await invoke()).toHandler);
    process.stderr.write(`\r  ${loader} prewarm=${prewarm}: cold start ${i + 1}/${COLD}`);
  }
  process.stderr.write('\n');
  await invoke();
  const warm: number[] = [];
  for (let i = 0; i < WARM; i++) warm.push((await invoke()).toHandler);
  await serving.close();
  await builder.close();
  return { cold, warm };
}

if (!existsSync(runtimeDist)) throw new Error('build the function runtime first: pnpm build');
// BENCH_LOADERS (e.g. "compiled") and BENCH_PREWARM ("1" or "0") pick the modes; default: all of them.
const loaders: Loader[] = (
  ['tsx', 'compiled', ...(nativeTs ? (['native'] as const) : [])] as Loader[]
).filter((l) => !process.env.BENCH_LOADERS || process.env.BENCH_LOADERS.split(',').includes(l));
const prewarms = process.env.BENCH_PREWARM ? [Number(process.env.BENCH_PREWARM)] : [1, 0];
const results = [];
for (const loader of loaders) {
  for (const prewarm of prewarms) {
    const { cold, warm } = await run(loader, prewarm);
    results.push({
      mode: `${loader}, ${prewarm ? 'prewarmed runtime' : 'spawn from scratch'}`,
      coldP50: pct(cold, 50),
      coldP95: pct(cold, 95),
      warmP50: pct(warm, 50),
      warmP95: pct(warm, 95),
    });
  }
}
rmSync(root, { recursive: true, force: true });
const f = (x: number) => `${x.toFixed(1)} ms`;
console.log(
  `Node ${process.versions.node}, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}; ${nativeTs ? '' : 'no native type stripping on this Node; '}` +
    `cold start = first event -> handler start (${COLD} cold starts); warm = the same path with an instance up (${WARM} invocations)`,
);
console.log('| mode | cold p50 | cold p95 | warm p50 | warm p95 | cold/warm (p50) |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) {
  console.log(
    `| ${r.mode} | ${f(r.coldP50)} | ${f(r.coldP95)} | ${f(r.warmP50)} | ${f(r.warmP95)} | ${(r.coldP50 / r.warmP50).toFixed(1)}x |`,
  );
}
const best = results
  .filter((r) => r.mode.endsWith('prewarmed runtime'))
  .sort((a, b) => a.coldP50 - b.coldP50)[0]!;
console.log(
  `fastest prewarmed: ${best.mode} (target cold p50 < 100 ms: ${best.coldP50 < 100 ? 'met' : 'NOT met'}; load ${loadavg()[0]?.toFixed(2)})`,
);
