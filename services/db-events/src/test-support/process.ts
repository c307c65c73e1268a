/**
 * db-events as its own process (src/index.ts through tsx), configured by env alone as deployed: for the tests
 * that kill it, or watch it exit.
 */
import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '@tributary/testing';
import { type TestDb, waitFor } from './harness.js';

const SERVICE_DIR = join(import.meta.dirname, '..', '..');

/**
 * Spawns db-events on `port` for the test's database, slot and publication, with `env` on top (the sink, the
 * tables, batch sizes...). stdout (the service's log) is shown with DB_EVENTS_CRASH_LOG=1; stderr always.
 */
export function spawnDbEvents(
  t: TestDb,
  port: number,
  env: Record<string, string>,
  stdio: StdioOptions = ['ignore', process.env.DB_EVENTS_CRASH_LOG ? 'inherit' : 'ignore', 'inherit'],
): ChildProcess {
  return spawn(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', join(SERVICE_DIR, 'src', 'index.ts')],
    {
      cwd: SERVICE_DIR,
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: t.url,
        DB_EVENTS_SLOT: t.slot,
        DB_EVENTS_PUBLICATION: t.publication,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio,
    },
  );
}

/** {@link spawnDbEvents} on a free port, once its /readyz answers 200. */
export async function startDbEvents(
  t: TestDb,
  env: Record<string, string>,
): Promise<{ proc: ChildProcess; port: number }> {
  const port = await freePort();
  const proc = spawnDbEvents(t, port, env);
  await waitFor(
    async () => {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      return res.status === 200;
    },
    { timeoutMs: 60_000, intervalMs: 100, message: 'db-events ready' },
  );
  return { proc, port };
}

/**
 * Waits until the walsender has noticed a killed db-events and released the slot; returns the slot's
 * confirmed position then, which is final.
 */
export function slotReleased(t: TestDb): Promise<string> {
  return waitFor(
    async () => {
      const { rows } = await t.db.query(
        'SELECT active, confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
        [t.slot],
      );
      return rows[0] && rows[0].active === false ? (rows[0].lsn as string) : undefined;
    },
    { timeoutMs: 30_000, message: 'slot released' },
  );
}
