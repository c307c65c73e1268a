import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { main } from '../index.js';
import { captureIo } from './capture-io.test-util.js';
import { checkFunctionName, render, ScaffoldError, scaffoldFunction } from './new.js';

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

  it('refuses a template with an unknown placeholder', () => {
    expect(render('{{name}}-{{type}}', { name: 'a', type: 'b' })).toBe('a-b');
    expect(() => render('{{nmae}}', { name: 'a' }, 'x.tmpl')).toThrow(ScaffoldError);
    expect(() => render('{{nmae}}', { name: 'a' }, 'x.tmpl')).toThrow('x.tmpl: unknown placeholder {{nmae}}');
  });
});
