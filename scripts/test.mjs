#!/usr/bin/env node
// Runs the whole test suite in one Jest process so the real services start once.
//   node scripts/test.mjs                unit + integration tests
//   node scripts/test.mjs --unit         unit tests only (no services started)
//   node scripts/test.mjs --integration  integration tests only (*.int.test.ts)
// Any other argument is passed to Jest (e.g. a path filter).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const env = { ...process.env };
const jestArgs = [];
for (const a of args) {
  if (a === '--unit') {
    jestArgs.push('--testPathIgnorePatterns', '\\.int\\.test\\.ts$', '--testPathIgnorePatterns', '/node_modules/');
    env.TRIBUTARY_TEST_SERVICES = 'none';
  } else if (a === '--integration') {
    jestArgs.push('--testPathPatterns', '\\.int\\.test\\.ts$');
  } else if (a === '--help' || a === '-h') {
    console.log('usage: pnpm test [--unit|--integration] [jest args...]');
    process.exit(0);
  } else {
    jestArgs.push(a);
  }
}
env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --experimental-vm-modules --no-warnings=ExperimentalWarning`.trim();
const jestBin = require.resolve('jest/bin/jest.js');
const ci = env.CI === 'true' || env.CI === '1';
const res = spawnSync(process.execPath, [jestBin, ...(ci ? ['--ci'] : []), ...jestArgs], { stdio: 'inherit', env });
process.exit(res.status ?? 1);
