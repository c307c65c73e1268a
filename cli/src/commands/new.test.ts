import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { main } from '../index.js';
import { captureIo } from './capture-io.test-util.js';
import {
  checkFunctionName,
  cliVersion,
  render,
  ScaffoldError,
  scaffoldFunction,
  tributaryClone,
} from './new.js';

const ROOT = resolve(import.meta.dirname, '../../..');

/** The pnpm catalog of the repository (`name: version` lines under `catalog:`). */
async function catalog(): Promise<Record<string, string>> {
  const text = await readFile(join(ROOT, 'pnpm-workspace.yaml'), 'utf8');
  const block = /^catalog:\n((?: {2}.*\n)+)/m.exec(text)?.[1] ?? '';
  return Object.fromEntries(
    [...block.matchAll(/^ {2}"?([^":]+)"?: (\S+)$/gm)].map((m) => [m[1] as string, m[2] as string]),
  );
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-new-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tributary new function', () => {
  it('accepts DNS labels only', () => {
    expect(checkFunctionName('order-mailer')).toBeUndefined();
    expect(checkFunctionName('a1')).toBeUndefined();
    for (const bad of ['Order', 'order_mailer', '1order', 'order-', '-order', 'a.b', '', 'x'.repeat(64)])
      expect(checkFunctionName(bad)).toMatch(/^invalid name/);
  });

  it('refuses a bad name, a bad type or a missing kind with a usage error (exit 2)', async () => {
    const a = captureIo();
    expect(await main(['new', 'function', 'My_Fn', '--dir', dir], a.io)).toBe(2);
    expect(a.err[0]).toContain('invalid name "My_Fn": a DNS label');
    const b = captureIo();
    expect(await main(['new', 'function', 'fn', '--dir', dir, '--type', "x' OR 1"], b.io)).toBe(2);
    expect(b.err[0]).toContain(`invalid --type "x' OR 1"`);
    const c = captureIo();
    expect(await main(['new', 'service', 'fn'], c.io)).toBe(2);
    expect(c.err[0]).toContain('cannot scaffold "service"');
    expect(await readdir(dir)).toEqual([]);
  });

  it('fills every placeholder and prints the next steps', async () => {
    const t = captureIo();
    expect(
      await main(
        ['new', 'function', 'order-mailer', '--dir', dir, '--type', 'com.example.order.placed'],
        t.io,
      ),
    ).toBe(0);
    const out = t.out.join('\n');
    expect(out).toContain('(@tributary/fn-order-mailer), a function for com.example.order.placed events');
    expect(out).toContain('pnpm install');
    expect(out).toContain('pnpm tributary dev');
    expect(t.err.join('\n')).toContain('is outside services/functions');
    const target = join(dir, 'order-mailer');
    const files = (await readdir(target, { recursive: true })).sort();
    expect(files).toEqual([
      'README.md',
      'jest.config.js',
      'package.json',
      'service.yaml',
      'src',
      'src/index.int.test.ts',
      'src/index.test.ts',
      'src/index.ts',
      'trigger.yaml',
      'tsconfig.build.json',
      'tsconfig.json',
    ]);
    for (const f of files.filter((f) => f !== 'src')) {
      expect(await readFile(join(target, f), 'utf8')).not.toMatch(/\{\{|\}\}/);
    }
    const pkg = JSON.parse(await readFile(join(target, 'package.json'), 'utf8'));
    expect(pkg.name).toBe('@tributary/fn-order-mailer');
    expect(await readFile(join(target, 'trigger.yaml'), 'utf8')).toContain('type: com.example.order.placed');
    expect(await readFile(join(target, 'service.yaml'), 'utf8')).toContain('name: order-mailer');
  });

  it('never overwrites an existing folder', async () => {
    const target = join(dir, 'taken');
    await scaffoldFunction({ name: 'taken', type: 'com.example.taken', target });
    await writeFile(join(target, 'src', 'index.ts'), '// mine\n');
    const t = captureIo();
    expect(await main(['new', 'function', 'taken', '--dir', dir], t.io)).toBe(1);
    expect(t.err[0]).toMatch(/taken already exists and is not empty; nothing was written/);
    expect(await readFile(join(target, 'src', 'index.ts'), 'utf8')).toBe('// mine\n');
  });

  it('links a function inside a clone to the workspace, and makes one elsewhere standalone', async () => {
    expect(tributaryClone(ROOT)).toBe(ROOT);
    expect(tributaryClone(join(ROOT, 'services', 'functions', 'new-one'))).toBe(ROOT);
    expect(tributaryClone(dir)).toBeUndefined();

    const inClone = join(dir, 'in-clone');
    await scaffoldFunction({ name: 'in-clone', type: 'com.example.a', target: inClone, workspace: ROOT });
    const linked = JSON.parse(await readFile(join(inClone, 'package.json'), 'utf8'));
    expect(linked.dependencies['@tributary/function-runtime']).toBe('workspace:*');
    expect(await readFile(join(inClone, 'jest.config.js'), 'utf8')).toContain('/jest.preset.js');

    const target = join(dir, 'standalone');
    await scaffoldFunction({ name: 'standalone', type: 'com.example.b', target });
    const files = (await readdir(target, { recursive: true })).filter((f) => f !== 'src').sort();
    expect(files).toEqual((await readdir(inClone, { recursive: true })).filter((f) => f !== 'src').sort());
    for (const f of files) {
      const text = await readFile(join(target, f), 'utf8');
      // Nothing of the repository: no workspace links, no catalog, no path out of the folder.
      expect([f, text]).not.toEqual([
        f,
        expect.stringMatching(/workspace:|catalog:|\.\.\/|\{\{|jest\.preset|tsconfig\.base/),
      ]);
    }
    const pkg = JSON.parse(await readFile(join(target, 'package.json'), 'utf8'));
    expect(pkg.name).toBe('@tributary/fn-standalone');
    // The @tributary packages at the CLI's version; the rest pinned at the versions the repository tests with.
    const version = cliVersion();
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect(pkg.dependencies['@tributary/function-runtime']).toBe(version);
    expect(pkg.dependencies['@tributary/shared']).toBe(version);
    const pins = await catalog();
    const others = { ...pkg.dependencies, ...pkg.devDependencies } as Record<string, string>;
    for (const [name, v] of Object.entries(others))
      if (!name.startsWith('@tributary/')) expect([name, v]).toEqual([name, pins[name]]);
    expect(Object.keys(others)).toEqual(
      expect.arrayContaining([
        'jest',
        '@swc/jest',
        '@swc/core',
        '@jest/globals',
        'typescript',
        '@types/node',
      ]),
    );
    // Its own settings: strict TypeScript as the repository's, without the development export condition.
    const tsconfig = JSON.parse(await readFile(join(target, 'tsconfig.json'), 'utf8'));
    const base = JSON.parse(await readFile(join(ROOT, 'tsconfig.base.json'), 'utf8'));
    expect(tsconfig.compilerOptions).toMatchObject(base.compilerOptions);
    expect(tsconfig.compilerOptions.customConditions).toBeUndefined();
    const jestConfig = (await import(join(target, 'jest.config.js'))).default;
    expect(jestConfig.rootDir).toBe(target);
    expect(jestConfig.globalSetup).toBeUndefined();
    expect(await readFile(join(target, 'README.md'), 'utf8')).toContain(`at version ${version}`);
  });

  it('refuses a template with an unknown placeholder', () => {
    expect(render('{{name}}-{{type}}', { name: 'a', type: 'b' })).toBe('a-b');
    expect(() => render('{{nmae}}', { name: 'a' }, 'x.tmpl')).toThrow(ScaffoldError);
    expect(() => render('{{nmae}}', { name: 'a' }, 'x.tmpl')).toThrow('x.tmpl: unknown placeholder {{nmae}}');
  });
});
