import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { waitFor } from '@tributary/testing';
import pg from 'pg';
import { REPO_ROOT } from './project.js';

// The README walk-through, end to end, as a newcomer runs it: `pnpm tributary dev` (scripts/tributary.mjs:
// builds what is stale, then runs the compiled command) on embedded defaults, then
//   1. a row inserted with SQL -> db-events -> broker -> on-user-created (cold-started on demand);
//   2. `tributary upload` -> MinIO -> storage-events -> broker -> file-indexer, which writes a `files` row;
//   3. `tributary publish` of an app event, seen by `tributary tail`;
// a Ctrl-C that stops everything cleanly (exit 0, nothing logged at error level), and the same walk-through
// again after a restart (the README's insert can be repeated; the data is kept).
jest.setTimeout(900_000);

const dataDir = mkdtempSync(join(tmpdir(), 'tributary-dev-e2e-'));
// Postgres runs as its own OS user when the tests run as root: it must be able to enter the folder.
chmodSync(dataDir, 0o755);
const launcher = join(REPO_ROOT, 'scripts/tributary.mjs');
/** The README's insert: a new address each time, so the walk-through can be repeated. */
const README_INSERT = "insert into users(email) values ('ada+' || floor(random() * 1e9) || '@example.com')";

let proc: ChildProcess | undefined;
let out = '';

/** A newcomer's environment: no external services, everything embedded. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info', ...extra };
  for (const k of ['DATABASE_URL', 'KAFKA_BROKERS', 'MINIO_ENDPOINT', 'MINIO_ACCESS_KEY', 'MINIO_SECRET_KEY'])
    if (!(k in extra)) delete env[k];
  return env;
}

/** The `tributary` command as `pnpm tributary` runs it. */
function tributary(args: string[], env: Record<string, string> = {}) {
  const res = spawnSync(process.execPath, [launcher, ...args], {
    cwd: REPO_ROOT,
    env: cleanEnv(env),
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

interface Started {
  databaseUrl: string;
  brokerUrl: string;
  minioEndpoint: string;
}

/** JSON log records printed by the platform so far. */
function records(): Record<string, unknown>[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

async function startDev(): Promise<Started> {
  out = '';
  proc = spawn(process.execPath, [launcher, 'dev', '--ports', 'auto', '--data-dir', dataDir, '--json-logs'], {
    cwd: REPO_ROOT,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d) => {
    out += d;
  });
  proc.stderr!.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<never>((_, reject) =>
    proc!.once('exit', (code) => reject(new Error(`tributary dev exited early (code ${code}):\n${out}`))),
  );
  const started = waitFor(
    () => {
      if (!out.includes('Tributary is running')) return undefined;
      const databaseUrl = /psql '([^']+)'/.exec(out)?.[1];
      const brokerUrl = /^\s+broker\s+(\S+)/m.exec(out)?.[1];
      // MinIO runs at once when it is built, else once its background build is done.
      const minioEndpoint =
        /^\s+minio\s+(\S+)/m.exec(out)?.[1] ?? /storage: ready: MinIO (\S+)/.exec(out)?.[1];
      if (!databaseUrl || !brokerUrl) throw new Error(`endpoints missing from the banner:\n${out}`);
      if (!minioEndpoint) return undefined;
      return { databaseUrl, brokerUrl, minioEndpoint };
    },
    { timeoutMs: 800_000, intervalMs: 200, message: 'tributary dev to start, with storage' },
  );
  exited.catch(() => undefined);
  return Promise.race([started, exited]);
}

/** Ctrl-C as a terminal under `pnpm` delivers it: twice (the terminal's, and the one pnpm forwards). */
async function stopDev(): Promise<number | null> {
  const p = proc;
  if (!p || p.exitCode !== null) return p?.exitCode ?? null;
  const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
  p.kill('SIGINT');
  setTimeout(() => p.exitCode === null && p.kill('SIGINT'), 100);
  return exited;
}

afterAll(async () => {
  await stopDev();
  rmSync(dataDir, { recursive: true, force: true });
});

/**
 * Inserts the README's row and resolves with where the time to on-user-created's handler went, in ms from the
 * insert: the activator asked for an instance (db-events, the broker and the dispatcher are before it), the
 * function was ready (the cold start), and the handler ran.
 */
async function insertToHandler(
  databaseUrl: string,
): Promise<{ activator: number; ready: number; handler: number }> {
  const before = records().filter((r) => r.msg === 'user created; requesting welcome message').length;
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const t0 = Date.now();
  await db.query(README_INSERT);
  await db.end();
  const handled = await waitFor(
    () => records().filter((r) => r.msg === 'user created; requesting welcome message')[before],
    { timeoutMs: 180_000, message: 'on-user-created to run' },
  );
  // pino's time: epoch ms, or an ISO string (the platform's loggers use ISO time).
  const at = (r: Record<string, unknown> | undefined) =>
    r ? new Date(r.time as string | number).getTime() - t0 : Number.NaN;
  const after = records().filter((r) => r.time !== undefined && at(r) >= 0);
  return {
    activator: at(
      after.find((r) => r.msg === 'starting instance (cold start)' && r.service === 'on-user-created'),
    ),
    ready: at(after.find((r) => r.msg === 'function ready' && r.function === 'on-user-created')),
    handler: at(handled),
  };
}

describe('tributary dev walk-through', () => {
  it('runs the README walk-through twice: insert -> function, upload -> files row, publish, tail; clean Ctrl-C', async () => {
    const first = await startDev();
    expect(first.brokerUrl).toMatch(/\/default\/default$/);

    // 1. insert -> on-user-created, cold start included.
    const coldMs = await insertToHandler(first.databaseUrl);
    const ready = records().find((r) => r.msg === 'function ready' && r.function === 'on-user-created');
    const instance = records().find((r) => r.msg === 'instance ready' && r.service === 'on-user-created');
    // The activator and the function report one cold-start figure.
    expect(instance?.startMs).toBe(ready?.coldStartMs);

    // 2. `tributary upload` -> file-indexer writes the row.
    const file = join(dataDir, 'hello.txt');
    writeFileSync(file, 'hello, tributary');
    const upload = tributary(['upload', file, '--key', 'docs/hello world.txt'], {
      MINIO_ENDPOINT: first.minioEndpoint,
    });
    expect(upload.stderr).toBe('');
    expect(upload.stdout).toContain('uploaded');
    const db = new pg.Client({ connectionString: first.databaseUrl });
    await db.connect();
    const row = await waitFor(
      async () =>
        (
          await db.query(
            "select bucket, key, size, content_type from files where key = 'docs/hello world.txt'",
          )
        ).rows[0],
      { timeoutMs: 180_000, message: 'file-indexer to index the upload' },
    );
    expect(row).toEqual({
      bucket: 'uploads',
      key: 'docs/hello world.txt',
      size: '16',
      content_type: 'text/plain',
    });
    await db.end();

    // 3. `tributary tail` sees what `tributary publish` sends.
    const tail = spawn(
      process.execPath,
      [launcher, 'tail', '--filter', "type = 'com.example.greeting'", '--count', '1', '--json'],
      {
        cwd: REPO_ROOT,
        env: cleanEnv({ DATABASE_URL: first.databaseUrl }),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let tailed = '';
    tail.stdout!.on('data', (d) => {
      tailed += d;
    });
    tail.stderr!.on('data', (d) => {
      tailed += d;
    });
    const tailDone = new Promise<number | null>((r) => tail.once('exit', (code) => r(code)));
    await waitFor(() => tailed.includes('tributary tail: following default/default'), {
      timeoutMs: 120_000,
      message: 'tail to start following',
    });
    const published = tributary([
      'publish',
      '--url',
      first.brokerUrl,
      '--type',
      'com.example.greeting',
      '--data',
      '{"hello":"world"}',
    ]);
    expect(published.code).toBe(0);
    expect(published.stdout).toContain('accepted');
    expect(await tailDone).toBe(0);
    expect(tailed).toContain('com.example.greeting');
    expect(tailed).toContain('"hello":"world"');

    // Ctrl-C: exit 0 and nothing at error level while stopping.
    const stopFrom = records().length;
    expect(await stopDev()).toBe(0);
    const atError = records()
      .slice(stopFrom)
      .filter((r) => (r.level as number) >= 50);
    expect(atError).toEqual([]);

    // The same walk-through again: the README's insert works a second time, and the data was kept.
    const second = await startDev();
    const warmMs = await insertToHandler(second.databaseUrl);
    const db2 = new pg.Client({ connectionString: second.databaseUrl });
    await db2.connect();
    const users = (await db2.query("select count(*)::int as n from users where email like 'ada+%'")).rows[0]
      .n;
    expect(users).toBe(2);
    await db2.end();
    expect(await stopDev()).toBe(0);
    const show = (t: { activator: number; ready: number; handler: number }) =>
      `${t.handler} ms (activator asked for an instance at ${t.activator} ms, function ready at ${t.ready} ms)`;
    process.stderr.write(
      `dev walk-through: insert -> on-user-created handler, cold start included: first start ${show(coldMs)}; after a restart ${show(warmMs)}\n`,
    );
  });
});
