// Where `tributary dev` finds what it runs, so that it works the same from an installed CLI as from a clone:
// - the platform's own services (db-events, storage-events, auth-hooks, the function runtime) are packages the
//   CLI depends on, found through Node's package resolution and run from their compiled dist/, never through a
//   TypeScript loader;
// - the user's functions, Broker/Trigger YAML and data live in the user's project folder (the working
//   directory: from a clone, `pnpm tributary` runs in the repository root, which is such a project).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { TributaryError } from '@tributary/shared';

/** The CLI's package folder: the nearest package.json above this module (src/dev/ or a chunk in dist/). */
export const CLI_ROOT = ((): string => {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return resolve(import.meta.dirname, '../..');
  }
})();

/** The repository root when the CLI runs from a clone (cli/); only a fallback for files it ships. */
export const REPO_ROOT = resolve(CLI_ROOT, '..');

/** The services `tributary dev` starts as processes, each a dependency in the CLI's package.json. */
export const DEV_SERVICES = {
  'db-events': { pkg: '@tributary/db-events', entry: 'index' },
  'storage-events': { pkg: '@tributary/storage-events', entry: 'index' },
  'auth-hooks': { pkg: '@tributary/auth-hooks', entry: 'index' },
  'function-runtime': { pkg: '@tributary/function-runtime', entry: 'main' },
} as const;

export type DevServiceName = keyof typeof DEV_SERVICES;

const requireFromCli = createRequire(join(CLI_ROOT, 'package.json'));

/** The folder of an installed package, as the CLI resolves it (its own node_modules, then up the tree). */
export function packageDir(name: string, from: NodeJS.Require = requireFromCli): string {
  let entry: string;
  try {
    entry = from.resolve(name);
  } catch (err) {
    throw new TributaryError(
      `${name} is not installed next to the tributary command (it is a dependency of @tributary/cli): reinstall the CLI, or run \`pnpm install\` in a clone`,
      { code: 'CLI_PACKAGE_MISSING', retriable: false, cause: err },
    );
  }
  for (let dir = dirname(entry); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === name
    )
      return dir;
    if (dirname(dir) === dir) return dirname(entry);
  }
}

/** The compiled entry of a platform service: `node <this file>` starts it, configured by env alone. */
export function serviceEntry(service: DevServiceName): string {
  const { pkg, entry } = DEV_SERVICES[service];
  const file = join(packageDir(pkg), 'dist', `${entry}.js`);
  if (!existsSync(file)) {
    throw new TributaryError(
      `${pkg} is not built (no ${file}). In a clone, \`pnpm tributary dev\` builds what is stale; or run \`pnpm build\``,
      { code: 'CLI_PACKAGE_NOT_BUILT', retriable: false },
    );
  }
  return file;
}

/** The user's project: functions, Broker/Trigger YAML and the data folder of `tributary dev`. */
export interface DevProject {
  /** The project folder (default: the working directory). */
  dir: string;
  /** Function packages, each with service.yaml and trigger.yaml (`tributary new function` puts them there). */
  functionsDir: string;
  /** Broker/Trigger YAML loaded besides the functions' own trigger.yaml (when the folder exists). */
  configDirs: string[];
  /** Data, secrets and logs, kept across restarts. */
  dataDir: string;
}

export function devProject(dir: string = process.cwd()): DevProject {
  const root = resolve(dir);
  const config = join(root, 'eventing', 'config');
  return {
    dir: root,
    functionsDir: join(root, 'services', 'functions'),
    configDirs: existsSync(config) ? [config] : [],
    dataDir: join(root, '.tributary'),
  };
}

/**
 * The demo schema (users, projects, files) of the README's walk-through: the copy the CLI's build ships in
 * dist/, else infra's file in a clone.
 */
export function demoSchemaFile(): string {
  const shipped = join(CLI_ROOT, 'dist', 'demo-schema.sql');
  return existsSync(shipped)
    ? shipped
    : join(REPO_ROOT, 'infra', 'base', 'postgres', 'sql', '10-demo-schema.sql');
}

/** How the user runs this command, for hints: `pnpm tributary` from a clone (the root script), else `tributary`. */
export function commandName(env: Record<string, string | undefined> = process.env): string {
  return env.npm_lifecycle_event === 'tributary' ? 'pnpm tributary' : 'tributary';
}
