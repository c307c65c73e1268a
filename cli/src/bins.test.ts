import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';

const ROOT = resolve(import.meta.dirname, '../..');

/** Every workspace package's folder (pnpm-workspace.yaml: packages/*, cli, eventing, services/*, services/functions/*, bench). */
function workspacePackages(): string[] {
  const dirs = ['cli', 'eventing', 'bench'].map((d) => join(ROOT, d));
  for (const parent of ['packages', 'services', 'services/functions'])
    for (const name of readdirSync(join(ROOT, parent))) dirs.push(join(ROOT, parent, name));
  return dirs.filter((d) => existsSync(join(d, 'package.json')));
}

describe('package bins', () => {
  it('point at files in the repository, so pnpm install links them before any build (regression: "Failed to create bin")', () => {
    const bins: string[] = [];
    for (const dir of workspacePackages()) {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        bin?: string | Record<string, string>;
      };
      const targets = typeof pkg.bin === 'string' ? [pkg.bin] : Object.values(pkg.bin ?? {});
      for (const t of targets) {
        bins.push(t);
        expect({ package: dir, bin: t, exists: existsSync(join(dir, t)) }).toEqual({
          package: dir,
          bin: t,
          exists: true,
        });
        expect(t).not.toMatch(/(^|\/)dist\//);
      }
    }
    expect(bins).toContain('./bin/tributary.js');
  });
});
