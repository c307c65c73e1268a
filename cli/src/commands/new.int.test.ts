// `tributary new function` end to end: the scaffold, inside the repository (so its relative paths to
// jest.preset.js and tsconfig.base.json are real), passes its own tests, typechecks, lints and validates.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { scaffoldFunction } from './new.js';
import { validatePaths } from './validate.js';

jest.setTimeout(180_000);

const ROOT = resolve(import.meta.dirname, '../../..');
// Under cli/, whose node_modules has what the scaffold imports (no `pnpm install` needed); a dot
// folder, so neither the root Jest config nor the workspace picks it up.
const parent = join(ROOT, 'cli', `.tmp-new-${randomBytes(4).toString('hex')}`);
const target = join(parent, 'hello-world');

function run(args: string[], cwd: string, env: Record<string, string | undefined> = {}) {
  const merged: Record<string, string | undefined> = { ...process.env, ...env };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  const res = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', env: merged });
  return { code: res.status, output: `${res.stdout}\n${res.stderr}` };
}

beforeAll(async () => {
  await mkdir(parent, { recursive: true });
  await scaffoldFunction({ name: 'hello-world', type: 'com.example.hello.requested', target });
});

afterAll(async () => {
  await rm(parent, { recursive: true, force: true });
});

describe('a scaffolded function', () => {
  it('passes its own unit and integration tests, starting no service (regression: 6.5 min for 1.1 s of tests)', () => {
    const jestBin = join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
    const { code, output } = run(
      [
        '--experimental-vm-modules',
        '--no-warnings',
        jestBin,
        '--ci',
        '--config',
        join(target, 'jest.config.js'),
      ],
      target,
      // As on a new machine: no services running or configured, none to reuse. Its project says it needs
      // none (jest.config.js), so the global setup starts nothing.
      {
        TRIBUTARY_TEST_SERVICES: undefined,
        TRIBUTARY_REUSE_SERVICES: '0',
        DATABASE_URL: undefined,
        KAFKA_BROKERS: undefined,
        MINIO_ENDPOINT: undefined,
      },
    );
    expect(output).toMatch(/Tests:\s+4 passed, 4 total/);
    expect(output).not.toContain('[tributary-testing]');
    expect(code).toBe(0);
  });

  it('typechecks with the repository settings', () => {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const { code, output } = run([tsc, '-p', join(target, 'tsconfig.json'), '--noEmit'], target);
    expect(output.trim()).toBe('');
    expect(code).toBe(0);
  });

  it('passes the repository linter and formatter', () => {
    const biome = join(ROOT, 'node_modules', '@biomejs', 'biome', 'bin', 'biome');
    const { code, output } = run([biome, 'check', target], ROOT);
    expect(output).toMatch(/Checked 7 files in .*No fixes applied/);
    expect(code).toBe(0);
  });

  it('has a trigger.yaml and service.yaml that `tributary validate` accepts without warnings', () => {
    const result = validatePaths([join(target, 'trigger.yaml'), join(target, 'service.yaml')], ROOT);
    expect(result.findings).toEqual([]);
    expect(result.counts).toEqual({ brokers: 0, triggers: 1, services: 1 });
  });
});
