// Cold start of a function under local serving: first event -> handler start, p50/p95 over 20 cold
// starts, beside a warm invocation measured in the same run. Two modes: with one prewarmed runtime
// process (the default of `tributary dev`) and with none (Node.js spawned from scratch per cold start).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createLocalServing, loadServiceSpec } from '@tributary/eventing';
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

async function run(prewarm: number) {
  const serving = createLocalServing({
    services: [loadServiceSpec(join(dir, 'service.yaml'))],
    runtime: {
      args: [
        '--conditions=development',
        '--import',
        'tsx',
        join(repoRoot, 'services/functions/runtime/src/main.ts'),
      ],
      env: { LOG_LEVEL: 'warn' },
    },
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
  // One cold start to warm the TypeScript transform cache, not counted.
  await invoke();
  const cold: number[] = [];
  for (let i = 0; i < COLD; i++) {
    await waitIdle();
    cold.push((await invoke()).toHandler);
    process.stderr.write(`\r  prewarm=${prewarm}: cold start ${i + 1}/${COLD}`);
  }
  process.stderr.write('\n');
  await invoke();
  const warm: number[] = [];
  for (let i = 0; i < WARM; i++) warm.push((await invoke()).toHandler);
  await serving.close();
  return { cold, warm };
}

const results = [];
for (const prewarm of [1, 0]) {
  const { cold, warm } = await run(prewarm);
  results.push({
    mode: prewarm ? 'prewarmed runtime (default)' : 'spawn from scratch',
    coldP50: pct(cold, 50),
    coldP95: pct(cold, 95),
    warmP50: pct(warm, 50),
    warmP95: pct(warm, 95),
  });
}
rmSync(root, { recursive: true, force: true });
const f = (x: number) => `${x.toFixed(1)} ms`;
console.log(
  `cold start = first event -> handler start (${COLD} cold starts); warm = the same path with an instance up (${WARM} invocations)`,
);
console.log('| mode | cold p50 | cold p95 | warm p50 | warm p95 | cold/warm (p50) |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) {
  console.log(
    `| ${r.mode} | ${f(r.coldP50)} | ${f(r.coldP95)} | ${f(r.warmP50)} | ${f(r.warmP95)} | ${(r.coldP50 / r.warmP50).toFixed(1)}x |`,
  );
}
console.log(`target: cold p50 < 300 ms (prewarmed mode: ${results[0]!.coldP50 < 300 ? 'met' : 'NOT met'})`);
