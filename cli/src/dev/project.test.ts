import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { CLI_ROOT, commandName, DEV_SERVICES, demoSchemaFile, devProject, packageDir } from './project.js';

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  files?: string[];
}
const manifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;

describe('what tributary dev runs', () => {
  it('is declared by the CLI: every service it starts, and the starters, are dependencies that ship their build', () => {
    const cli = manifest(CLI_ROOT);
    expect(cli.name).toBe('@tributary/cli');
    const started = [...Object.values(DEV_SERVICES).map((s) => s.pkg), '@tributary/embedded'];
    for (const pkg of started) {
      expect([pkg, cli.dependencies?.[pkg]]).toEqual([pkg, 'workspace:*']);
      const dir = packageDir(pkg);
      expect(manifest(dir).name).toBe(pkg);
      // An install (pnpm deploy, npm pack) copies only these: the build must be among them.
      expect([pkg, manifest(dir).files]).toEqual([pkg, expect.arrayContaining(['dist'])]);
    }
    // Nothing runs through a TypeScript loader, and the test harness is not part of the command.
    expect(cli.dependencies).not.toHaveProperty('tsx');
    expect(cli.dependencies).not.toHaveProperty('@tributary/testing');
  });

  it('names a package that is not installed', () => {
    expect(() => packageDir('@tributary/no-such-package')).toThrow(
      /@tributary\/no-such-package is not installed next to the tributary command/,
    );
  });

  it('takes the project from the working directory, not from where the CLI is installed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-project-'));
    try {
      expect(devProject(dir)).toEqual({
        dir,
        functionsDir: join(dir, 'services', 'functions'),
        configDirs: [],
        dataDir: join(dir, '.tributary'),
      });
      mkdirSync(join(dir, 'eventing', 'config'), { recursive: true });
      expect(devProject(dir).configDirs).toEqual([join(dir, 'eventing', 'config')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds the demo schema of the walk-through', () => {
    expect(readFileSync(demoSchemaFile(), 'utf8')).toMatch(/create table if not exists (public\.)?users/i);
  });

  it('shows the command as the user ran it', () => {
    expect(commandName({ npm_lifecycle_event: 'tributary' })).toBe('pnpm tributary');
    expect(commandName({})).toBe('tributary');
  });
});
