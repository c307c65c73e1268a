/**
 * The client stays lean: an app that only publishes events installs cloudevents, undici and zod, nothing of the
 * server kit. Fails when a dependency or an import of one creeps in.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';

const root = join(import.meta.dirname, '..');
const ALLOWED = ['cloudevents', 'undici', 'zod'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('@tributary/client', () => {
  it('depends on cloudevents, undici and zod only', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      peerDependencies?: Record<string, string>;
    };
    expect(Object.keys(pkg.dependencies).sort()).toEqual(ALLOWED);
    expect(pkg.peerDependencies).toBeUndefined();
  });

  it('imports nothing else outside Node.js built-ins', () => {
    const imported = new Set<string>();
    for (const file of sources(join(root, 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^(?:import|export)\s[^'"]*?from\s+'([^'.][^']*)'/gm)) {
        const spec = m[1] as string;
        if (!spec.startsWith('node:'))
          imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
    expect([...imported].sort()).toEqual(ALLOWED);
  });
});
