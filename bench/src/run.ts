// Runs every benchmark in bench/src/*.bench.ts one after another (they share a 2-core machine, so
// never in parallel) and prints each one's report. `pnpm bench [name...]` runs only the named ones.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
if (process.argv.includes('--help')) {
  console.log('usage: pnpm bench [name...]   (names: files in bench/src/<name>.bench.ts)');
  process.exit(0);
}
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace(/\.bench\.ts$/, '')))
  .sort();
console.log(`node ${process.version} (${process.execPath})`);
let failed = 0;
for (const f of files) {
  console.log(`\n=== ${f.replace(/\.bench\.ts$/, '')} ===`);
  const res = spawnSync(process.execPath, ['--conditions=development', '--import', 'tsx', join(here, f)], {
    stdio: 'inherit',
  });
  if (res.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
