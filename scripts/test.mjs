#!/usr/bin/env node
// Runs the whole test suite in one Jest process so the real services start once.
//   node scripts/test.mjs                unit + integration tests
//   node scripts/test.mjs --unit         unit tests only (no services started)
//   node scripts/test.mjs --integration  integration tests only (*.int.test.ts)
// Any other argument is passed to Jest (e.g. a path filter): `--integration eventing/src/log` runs the
// integration tests under that path only.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { summaryLine } from './test-summary.mjs';

const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
/** An integration test's file name (matched against its full path). */
const INTEGRATION = '\\.int\\.test\\.ts$';
const env = { ...process.env };
const jestArgs = [];
// Jest's array options are greedy: keep them after the positional path filters.
const jestOptions = [];
for (const a of args) {
  if (a === '--unit') {
    jestOptions.push(`--testPathIgnorePatterns=${INTEGRATION}|/node_modules/|/dist/`);
    env.TRIBUTARY_TEST_SERVICES = 'none';
  } else if (a === '--integration') {
    // Not --testPathPatterns: Jest ORs it with the positional path filters, so `--integration <path>` ran
    // every integration test of the repo. Ignoring every other file keeps the path filter intact.
    jestOptions.push(`--testPathIgnorePatterns=^(?!.*${INTEGRATION})|/node_modules/|/dist/`);
  } else if (a === '--help' || a === '-h') {
    console.log('usage: pnpm test [--unit|--integration] [path filters...] [jest args...]');
    process.exit(0);
  } else {
    jestArgs.push(a);
  }
}
env.NODE_OPTIONS =
  `${env.NODE_OPTIONS ?? ''} --experimental-vm-modules --no-warnings=ExperimentalWarning`.trim();
const jestBin = join(dirname(require.resolve('jest/package.json')), 'bin', 'jest.js');
const ci = env.CI === 'true' || env.CI === '1';
const outDir = mkdtempSync(join(tmpdir(), 'tributary-jest-'));
const outFile = join(outDir, 'results.json');
// `--listTests` prints the files a run would take, one a line (how the test of this script checks it).
const listing = jestArgs.includes('--listTests');
const res = spawnSync(
  process.execPath,
  [
    jestBin,
    ...(ci ? ['--ci'] : []),
    ...jestArgs,
    ...(listing ? [] : ['--json', `--outputFile=${outFile}`]),
    ...jestOptions,
  ],
  { stdio: 'inherit', env },
);
if (listing) {
  rmSync(outDir, { recursive: true, force: true });
  process.exit(res.status ?? 1);
}
// A plain closing line that any CI reads: "tests: N passed, N failed, N skipped".
const results = existsSync(outFile) ? JSON.parse(readFileSync(outFile, 'utf8')) : undefined;
console.log(`\n${summaryLine(results, res.status ?? 1)}`);
rmSync(outDir, { recursive: true, force: true });
process.exit(res.status ?? 1);
