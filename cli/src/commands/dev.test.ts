import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';

const CLI = join(import.meta.dirname, '..', 'index.ts');

// Records every module the process resolves (node:module registerHooks), printed at exit.
const RECORDER = `import module from 'node:module';
const urls = [];
module.registerHooks({ resolve(s, c, next) { const r = next(s, c); urls.push(r.url); return r; } });
process.on('exit', () => process.stderr.write('\\nRESOLVED ' + JSON.stringify(urls) + '\\n'));
`;

/** Runs the CLI from its sources and returns what it printed and every module URL it resolved. */
function run(args: string[]): { stdout: string; code: number | null; urls: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-dev-help-'));
  try {
    const recorder = join(dir, 'recorder.mjs');
    writeFileSync(recorder, RECORDER);
    const res = spawnSync(
      process.execPath,
      ['--conditions=development', '--import', 'tsx', '--import', recorder, CLI, ...args],
      { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
    );
    const urls = JSON.parse(/RESOLVED (.*)/.exec(res.stderr)?.[1] ?? 'null') as string[] | null;
    if (!urls) throw new Error(`no module list:\n${res.stderr}`);
    return { stdout: res.stdout, code: res.status, urls };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const PLATFORM =
  /\/dev\/platform\.|@tributary\/(dashboard|eventing|embedded)|\/(dashboard|eventing|embedded)\/src\/|\/esbuild\//;

describe('tributary dev', () => {
  it('prints --help and refuses a bad flag without loading the platform (regression: --help loaded the broker, the dashboard and esbuild)', () => {
    const help = run(['dev', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: tributary dev /);
    expect(help.urls.length).toBeGreaterThan(0);
    expect(help.urls.filter((u) => PLATFORM.test(u))).toEqual([]);

    const bad = run(['dev', '--ports', '9']);
    expect(bad.code).toBe(2);
    expect(bad.urls.filter((u) => PLATFORM.test(u))).toEqual([]);
  });
});
