import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { waitFor } from '@tributary/testing';
import { Client as MinioClient } from 'minio';
import pg from 'pg';
import { REPO_ROOT } from './platform.js';

// The README walk-through, end to end: `tributary dev` on embedded defaults, a row inserted with SQL and a
// file uploaded to MinIO, and the matching functions (cold-started by local serving) run.
jest.setTimeout(600_000);

const dataDir = mkdtempSync(join(tmpdir(), 'tributary-dev-e2e-'));
// Postgres runs as its own OS user when the tests run as root: it must be able to enter the folder.
chmodSync(dataDir, 0o755);
let proc: ChildProcess | undefined;
let out = '';

function startDev(): Promise<{ databaseUrl: string; minioEndpoint: string; brokerUrl: string }> {
  out = '';
  const env: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'info' };
  // A newcomer's machine: no external services, everything embedded.
  for (const k of ['DATABASE_URL', 'KAFKA_BROKERS', 'MINIO_ENDPOINT', 'MINIO_ACCESS_KEY', 'MINIO_SECRET_KEY'])
    delete env[k];
  proc = spawn(
    process.execPath,
    [
      '--conditions=development',
      '--import',
      'tsx',
      join(REPO_ROOT, 'packages/cli/src/index.ts'),
      'dev',
      '--ports',
      'auto',
      '--data-dir',
      dataDir,
      '--json-logs',
    ],
    { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
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
      const minioEndpoint = /^\s+minio\s+(\S+)/m.exec(out)?.[1];
      const brokerUrl = /^\s+broker\s+(\S+)/m.exec(out)?.[1];
      if (!databaseUrl || !minioEndpoint || !brokerUrl)
        throw new Error(`endpoints missing from the banner:\n${out}`);
      return { databaseUrl, minioEndpoint, brokerUrl };
    },
    { timeoutMs: 300_000, intervalMs: 200, message: 'tributary dev to start' },
  );
  exited.catch(() => undefined);
  return Promise.race([started, exited]);
}

async function stopDev(): Promise<number | null> {
  const p = proc;
  if (!p || p.exitCode !== null) return p?.exitCode ?? null;
  const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
  p.kill('SIGINT');
  return exited;
}

afterAll(async () => {
  await stopDev();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('tributary dev walk-through', () => {
  it('runs functions for an inserted row and an uploaded file, stops cleanly and keeps its data', async () => {
    const { databaseUrl, minioEndpoint, brokerUrl } = await startDev();
    expect(brokerUrl).toMatch(/\/default\/default$/);

    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    const t0 = Date.now();
    await db.query("insert into users (email) values ('ada@example.com')");

    const u = new URL(minioEndpoint);
    const minio = new MinioClient({
      endPoint: u.hostname,
      port: Number(u.port),
      useSSL: false,
      accessKey: 'minioadmin',
      secretKey: 'minioadmin',
    });
    const file = join(dataDir, 'hello.txt');
    writeFileSync(file, 'hello, tributary');
    await minio.fPutObject('uploads', 'docs/hello world.txt', file, { 'Content-Type': 'text/plain' });

    // on-user-created ran for the insert (its log line carries the event id from db-events).
    await waitFor(() => out.includes('user created; requesting welcome message'), {
      timeoutMs: 180_000,
      message: 'on-user-created to run',
    });
    const userMs = Date.now() - t0;
    // file-indexer ran for the upload and wrote the row.
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
    process.stderr.write(
      `dev walk-through: insert -> on-user-created ran in ${userMs} ms (includes its cold start)\n`,
    );

    expect(await stopDev()).toBe(0);
    expect(out).toMatch(/stopped/);

    // Data survives a restart.
    const again = await startDev();
    const db2 = new pg.Client({ connectionString: again.databaseUrl });
    await db2.connect();
    expect(
      (await db2.query("select count(*)::int as n from users where email = 'ada@example.com'")).rows[0].n,
    ).toBe(1);
    await db2.end();
    expect(await stopDev()).toBe(0);
  });
});
