/**
 * Crash test: db-events runs as a child process (its real entry point) with an HTTP sink, and is killed with
 * SIGKILL again and again while a writer commits rows. Afterwards every committed row has arrived at least once,
 * every delivery of a change carries the same id, and anything delivered again after a kill comes from the
 * window the slot had not confirmed when the process died.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { ensurePublication, ensureSlot } from './replication/setup.js';
import { lsnValue, type TestDb, testDb, waitFor } from './test-support/harness.js';
import { slotReleased, startDbEvents } from './test-support/process.js';

interface Received {
  id: string;
  subject: string;
  lsn: string;
  run: number;
}

const KILLS = 6;

describe('db-events crash safety (SIGKILL, HTTP sink, Postgres 17)', () => {
  let t: TestDb;
  let server: Server;
  let sinkUrl: string;
  const received: Received[] = [];
  let run = 0;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    t = await testDb('dbe_crash');
    await t.db.query(`CREATE TABLE ${t.schema}.rows (id int PRIMARY KEY, v text)`);
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const batch = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, string>[];
        for (const e of batch) {
          if (e.type?.startsWith('dev.tributary.db.row.')) {
            received.push({ id: e.id as string, subject: e.subject as string, lsn: e.lsn as string, run });
          }
        }
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    sinkUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/default/default`;
  });

  afterAll(async () => {
    child?.kill('SIGKILL');
    await new Promise((r) => server.close(r));
    await t?.cleanup();
  }, 30_000);

  function startChild(): Promise<{ proc: ChildProcess; port: number }> {
    return startDbEvents(t, {
      DB_EVENTS_TABLES: `${t.schema}.rows`,
      DB_EVENTS_HEARTBEAT_MS: '500',
      DB_EVENTS_BATCH_SIZE: '50',
      K_SINK: sinkUrl,
    });
  }

  function confirmedAfterExit(): Promise<string> {
    return slotReleased(t);
  }

  it('delivers every committed change at least once, with stable ids, duplicating only the unconfirmed window', async () => {
    // Slot and publication exist before the first commit, as they would in production.
    const setup = { slot: t.slot, publication: t.publication, tables: [`${t.schema}.rows`] };
    await ensurePublication(t.db, setup);
    await ensureSlot(t.db, setup);
    // The writer: single-row and three-row transactions, as fast as it can, recording what committed.
    const committed: number[] = [];
    let writing = true;
    const writer = new pg.Client({ connectionString: t.url });
    await writer.connect();
    const writerDone = (async () => {
      let next = 1;
      while (writing) {
        const n = next % 7 === 0 ? 3 : 1;
        const ids = Array.from({ length: n }, (_, i) => next + i);
        next += n;
        await writer.query(`INSERT INTO ${t.schema}.rows SELECT g, 'v' FROM unnest($1::int[]) g`, [ids]);
        committed.push(...ids);
        if (next % 50 < n) await sleep(5);
      }
    })();

    const confirmedAtKill: string[] = [];
    for (let k = 0; k < KILLS; k++) {
      run = k;
      const { proc } = await startChild();
      child = proc;
      await sleep(300 + Math.floor(Math.random() * 1_500));
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
      confirmedAtKill.push(await confirmedAfterExit());
    }
    run = KILLS;
    const { proc } = await startChild();
    child = proc;
    await sleep(500);
    writing = false;
    await writerDone;
    await writer.end();
    const all = new Set(committed);
    await waitFor(
      () => {
        const seen = new Set(received.map((r) => Number(r.subject)));
        return [...all].every((id) => seen.has(id));
      },
      { timeoutMs: 60_000, intervalMs: 200, message: `all ${all.size} committed rows delivered` },
    ).catch((err: Error) => {
      const seen = new Set(received.map((r) => Number(r.subject)));
      const missing = [...all].filter((id) => !seen.has(id));
      const runs = Array.from({ length: KILLS + 1 }, (_, k) => received.filter((r) => r.run === k).length);
      throw new Error(
        `${err.message}: ${missing.length} missing (first ${missing.slice(0, 10).join(',')}); deliveries per run ${runs.join(',')}; confirmed at kills ${confirmedAtKill.join(',')}`,
      );
    });
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
    child = undefined;

    // Same change, same id, every time.
    const idsBySubject = new Map<string, Set<string>>();
    for (const r of received) {
      const s = idsBySubject.get(r.subject) ?? new Set<string>();
      s.add(r.id);
      idsBySubject.set(r.subject, s);
    }
    expect([...idsBySubject.values()].filter((s) => s.size !== 1)).toEqual([]);
    expect(idsBySubject.size).toBe(all.size);
    // After kill k, the restarted process only sends transactions the slot had not confirmed.
    for (let k = 0; k < KILLS; k++) {
      const confirmed = lsnValue(confirmedAtKill[k] as string);
      const replayedConfirmed = received.filter((r) => r.run === k + 1 && lsnValue(r.lsn) < confirmed);
      expect(replayedConfirmed).toEqual([]);
    }
    // Duplicates come only from those unconfirmed windows.
    const firstRun = new Map<string, number>();
    let duplicates = 0;
    for (const r of received) {
      const first = firstRun.get(r.id);
      if (first === undefined) {
        firstRun.set(r.id, r.run);
        continue;
      }
      duplicates++;
      expect(r.run).toBeGreaterThan(first);
      expect(lsnValue(r.lsn)).toBeGreaterThanOrEqual(lsnValue(confirmedAtKill[r.run - 1] as string));
    }
    process.stdout.write(
      `crash test: ${all.size} committed rows, ${received.length} deliveries, ${duplicates} duplicates over ${KILLS} SIGKILLs\n`,
    );
  }, 300_000);
});
