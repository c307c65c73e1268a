// Start-up of the `tributary` command (the compiled bin, as installed), beside a bare `node -e 0` measured in
// the same run: the three are spawned in turn, ROUNDS times, and compared by median wall time. `publish`
// publishes one event to a local HTTP server that answers 202, so it is a whole successful run.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';

const ROUNDS = Number(process.env.BENCH_CLI_ROUNDS ?? 20);
const repoRoot = resolve(import.meta.dirname, '../..');
const cliDir = join(repoRoot, 'cli');
const bin = join(cliDir, 'bin/tributary.js');
if (!existsSync(join(cliDir, 'dist/index.js'))) {
  const built = spawnSync(process.execPath, [join(cliDir, 'build.mjs')], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('building the CLI failed');
}

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(202).end());
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const { port } = server.address() as { port: number };

const cases: { name: string; args: string[] }[] = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: 'tributary --help', args: [bin, '--help'] },
  {
    name: 'tributary publish',
    args: [bin, 'publish', '--url', `http://127.0.0.1:${port}/default/default`, '--type', 'com.example.hi'],
  },
];
const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
const runOnce = (args: string[]) =>
  new Promise<number>((done, fail) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    p.once('exit', (code) =>
      code === 0 ? done(performance.now() - t0) : fail(new Error(`${args.join(' ')} exited ${code}`)),
    );
  });
for (const c of cases) await runOnce(c.args); // warm the file cache
for (let i = 0; i < ROUNDS; i++) for (const c of cases) times.get(c.name)!.push(await runOnce(c.args));
server.close();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(times.get('node -e 0')!);
console.log(
  `CLI start-up, median wall time of ${ROUNDS} interleaved runs (load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')})`,
);
console.log('| command | median | min | ratio to node -e 0 | target |');
console.log('| --- | ---: | ---: | ---: | --- |');
for (const c of cases) {
  const xs = times.get(c.name)!;
  const ratio = median(xs) / base;
  const target = c.name === 'node -e 0' ? '' : `≤ 3× (${ratio <= 3 ? 'met' : 'NOT met'})`;
  console.log(
    `| ${c.name} | ${median(xs).toFixed(0)} ms | ${Math.min(...xs).toFixed(0)} ms | ${ratio.toFixed(2)}× | ${target} |`,
  );
}
