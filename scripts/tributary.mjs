#!/usr/bin/env node
// `pnpm tributary <command>` from a clone: runs the compiled `tributary` command (cli/bin), first
// building what is stale. A package is stale when a source file, its package.json or its build config is newer
// than its dist/; then one `turbo run build` builds the CLI, the packages it imports and the services
// `tributary dev` starts (turbo's cache skips whatever did not change). Checking costs a few milliseconds, so
// every later call starts as fast as the installed command (docs/BENCHMARKS.md, "CLI start-up").
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
/** What `pnpm tributary` needs built: the CLI and its workspace imports, and what `tributary dev` runs. */
const PACKAGES = [
  'cli',
  'packages/client',
  'packages/shared',
  'packages/embedded',
  'eventing',
  'services/dashboard',
  'services/storage-events',
  'services/db-events',
  'services/auth-hooks',
  'services/functions/runtime',
];

/** Files outside a package that its build copies into dist/ (as in its turbo.json inputs). */
const COPIED = {
  'packages/embedded': ['versions.json'],
  cli: ['infra/base/postgres/sql/10-demo-schema.sql'],
};

function newest(dir, skip = () => false) {
  let max = 0;
  if (!existsSync(dir)) return max;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (skip(entry.name)) continue;
    if (entry.isDirectory()) max = Math.max(max, newest(path, skip));
    else max = Math.max(max, statSync(path).mtimeMs);
  }
  return max;
}

const isTest = (name) => /\.test(-util)?\.ts$/.test(name);
export function stalePackages() {
  return PACKAGES.filter((pkg) => {
    const dir = join(root, pkg);
    const built = newest(join(dir, 'dist'));
    if (built === 0) return true;
    const inputs = Math.max(
      newest(join(dir, 'src'), isTest),
      ...['package.json', 'tsconfig.build.json', 'build.mjs', 'build-ui.mjs']
        .map((f) => join(dir, f))
        .concat((COPIED[pkg] ?? []).map((f) => join(root, f)))
        .filter(existsSync)
        .map((f) => statSync(f).mtimeMs),
    );
    return inputs > built;
  });
}

const stale = stalePackages();
if (stale.length > 0) {
  process.stderr.write(`tributary: building ${stale.join(', ')} (turbo caches what did not change)…\n`);
  const filters = PACKAGES.map((p) => `--filter=./${p}`);
  const res = spawnSync('pnpm', ['exec', 'turbo', 'run', 'build', ...filters, '--output-logs=errors-only'], {
    cwd: root,
    // Build output goes to stderr: stdout is the command's own (piped, parsed).
    stdio: ['ignore', 2, 2],
  });
  if (res.status !== 0) {
    process.stderr.write(
      'tributary: the build failed (see above); fix it, or run `pnpm build` for details.\n',
    );
    process.exit(res.status ?? 1);
  }
}
await import('../cli/bin/tributary.js');
