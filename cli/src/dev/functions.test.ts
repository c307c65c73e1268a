import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import type { ServiceSpec } from '@tributary/eventing';
import { createLogger } from '@tributary/shared';
import { waitFor } from '@tributary/testing';
import { FunctionBuilder } from './functions.js';

const root = mkdtempSync(join(tmpdir(), 'tributary-fn-build-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function makeSpec(name: string, files: Record<string, string>): ServiceSpec {
  const dir = join(root, name);
  mkdirSync(join(dir, 'src'), { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, 'src', f), text);
  return {
    name,
    namespace: 'default',
    dir,
    functionPath: join(dir, 'src/index.ts'),
    minScale: 0,
    maxScale: 1,
    target: 100,
    idleMs: 1000,
    env: {},
  };
}

describe('FunctionBuilder', () => {
  it('compiles a function with its own modules into one JavaScript file, and again when it changes', async () => {
    const spec = makeSpec('greeter', {
      'index.ts':
        "import { greet } from './greet.js';\nexport function handle(): string { return greet('ada'); }\n",
      'greet.ts': "export const greet = (who: string): string => 'hello ' + who;\n",
    });
    const builder = new FunctionBuilder(createLogger({ name: 'test', level: 'silent' }));
    try {
      await builder.buildAll([spec]);
      expect(spec.functionPath).toBe(join(spec.dir, 'node_modules/.cache/tributary/greeter.mjs'));
      const text = () => readFileSync(spec.functionPath, 'utf8');
      expect(text()).toContain('"hello " + who');
      expect(text()).not.toContain(': string');
      const changed: string[] = [];
      builder.watch([spec], (s) => changed.push(s.name));
      writeFileSync(join(spec.dir, 'src/greet.ts'), "export const greet = (who: string) => 'hi ' + who;\n");
      await waitFor(() => changed.length > 0, { message: 'rebuild after a change' });
      expect(text()).toContain('"hi " + who');
    } finally {
      await builder.close();
    }
  });

  it('leaves a function that does not compile on its source path', async () => {
    const spec = makeSpec('broken', { 'index.ts': 'export function handle( {\n' });
    const builder = new FunctionBuilder(createLogger({ name: 'test', level: 'silent' }));
    try {
      await builder.buildAll([spec]);
      expect(spec.functionPath).toBe(join(spec.dir, 'src/index.ts'));
    } finally {
      await builder.close();
    }
  });
});
