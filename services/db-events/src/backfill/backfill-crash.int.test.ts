/**
 * The backfill "done when" test: db-events runs as a child process (its real entry point, HTTP sink) and
 * backfills a 100,000-row table while a writer updates, deletes and inserts rows of the same table; the process
 * is SIGKILLed once mid-backfill and started again. Afterwards:
 * - every row that exists at the end has been delivered, with its final values (replaying the events in
 *   arrival order per key gives exactly the table);
 * - no read event for a key arrives after a change to that key committed after the read's low watermark;
 * - the backfill resumed after the last chunk the sink had accepted (not from the start) and completed.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { ensurePublication, ensureSlot } from '../replication/setup.js';
import { lsnValue, type TestDb, testDb, waitFor } from '../test-support/harness.js';
import { slotReleased, startDbEvents } from '../test-support/process.js';

interface Received {
  type: string;
  id: string;
  subject: string;
  lsn: string;
  backfill: string | undefined;
  record: { id: number; v: number } | null;
  run: number;
}

const ROWS = 100_000;

function step(what: string): void {
  if (process.env.DB_EVENTS_CRASH_LOG) process.stdout.write(`${new Date().toISOString()} ${what}\n`);
}

describe('backfill under concurrent writes and a SIGKILL (Postgres 17, HTTP sink)', () => {
  let t: TestDb;
  let server: Server;
  let sinkUrl: string;
  const received: Received[] = [];
  let run = 0;
  let child: ChildProcess | undefined;
  let dbe: string;
  let table: string;

  beforeAll(async () => {
    t = await testDb('dbe_bfk');
    dbe = `${t.schema}_dbe`;
    table = `${t.schema}.rows`;
    await t.db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v int NOT NULL, note text)`);
    await t.db.query(`INSERT INTO ${table} SELECT g, 0, 'row ' || g FROM generate_series(1, ${ROWS}) g`);
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const batch = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>[];
        for (const e of batch) {
          const type = e.type as string;
          if (!type.startsWith('dev.tributary.db.row.')) continue;
          const data = e.data as { record: Received['record'] };
          received.push({
            type,
            id: e.id as string,
            subject: e.subject as string,
            lsn: e.lsn as string,
            backfill: e.backfill as string | undefined,
            record: data.record,
            run,
          });
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
    await t?.db.query(`DROP SCHEMA IF EXISTS ${dbe} CASCADE`);
    await t?.cleanup();
  }, 30_000);

  async function startChild(): Promise<ChildProcess> {
    const { proc } = await startDbEvents(t, {
      DB_EVENTS_TABLES: table,
      DB_EVENTS_SCHEMA: dbe,
      DB_EVENTS_BACKFILL_POLL_MS: '100',
      DB_EVENTS_HEARTBEAT_MS: '500',
      DB_EVENTS_BATCH_SIZE: '500',
      K_SINK: sinkUrl,
    });
    return proc;
  }

  async function backfillRow(id: string) {
    const { rows } = await t.db.query(
      `SELECT state, last_key, rows_done::int AS rows_done, error FROM ${dbe}.backfills WHERE id = $1`,
      [id],
    );
    return rows[0] as { state: string; last_key: string[] | null; rows_done: number; error: string | null };
  }

  it('delivers every row, never a read after a newer change, and resumes after the kill', async () => {
    const setup = { slot: t.slot, publication: t.publication, tables: [table] };
    await ensurePublication(t.db, setup);
    await ensureSlot(t.db, setup);
    run = 0;
    child = await startChild();
    // The writer: updates and deletes of random existing rows, and inserts past the end, in 1-3 row
    // transactions, for the whole backfill.
    let writing = true;
    let commits = 0;
    const writer = new pg.Client({ connectionString: t.url });
    await writer.connect();
    const writerDone = (async () => {
      let next = ROWS + 1;
      const rand = () => Math.floor(Math.random() * 2 ** 30);
      while (writing) {
        const r = rand() % 10;
        const ids = [1 + (rand() % ROWS), 1 + (rand() % ROWS), 1 + (rand() % ROWS)].slice(0, 1 + (r % 3));
        if (r < 6) await writer.query(`UPDATE ${table} SET v = v + 1 WHERE id = ANY($1)`, [ids]);
        else if (r < 9) await writer.query(`DELETE FROM ${table} WHERE id = ANY($1)`, [ids]);
        else await writer.query(`INSERT INTO ${table} VALUES ($1, 0, 'new')`, [next++]);
        commits++;
        if (commits % 20 === 0) await sleep(2);
      }
    })();

    const { rows: started } = await t.db.query<{ id: string }>(
      `SELECT ${dbe}.backfill($1, chunk_size => 1000) AS id`,
      [table],
    );
    const backfillId = started[0]?.id as string;
    step(`backfill ${backfillId} started`);
    // Kill once, a third of the way in.
    await waitFor(async () => (await backfillRow(backfillId)).rows_done >= ROWS / 3, {
      timeoutMs: 120_000,
      intervalMs: 20,
      message: 'a third of the backfill done',
    });
    step('killing db-events');
    const exited = new Promise((r) => child?.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const atKill = await backfillRow(backfillId);
    expect(atKill.state).toBe('running');
    const keyAtKill = Number(atKill.last_key?.[0]);
    // The walsender notices the dead socket and frees the slot; then start again.
    await slotReleased(t);
    step(`killed at key ${keyAtKill}; restarting`);
    run = 1;
    child = await startChild();
    const done = await waitFor(
      async () => {
        const row = await backfillRow(backfillId);
        if (row.state === 'failed') throw new Error(`backfill failed: ${row.error}`);
        return row.state === 'completed' ? row : undefined;
      },
      { timeoutMs: 240_000, intervalMs: 100, message: 'backfill completed' },
    );
    step(`backfill completed: ${JSON.stringify(done)}`);
    writing = false;
    await writerDone;
    // A last insert marks the end of the stream for this test.
    await writer.query(`INSERT INTO ${table} VALUES (0, -1, 'end')`);
    await writer.end();
    await waitFor(() => received.some((r) => r.subject === '0' && r.type.endsWith('inserted')), {
      timeoutMs: 120_000,
      intervalMs: 100,
      message: 'end marker delivered',
    });
    const exitedAgain = new Promise((r) => child?.once('exit', r));
    child.kill('SIGTERM');
    await exitedAgain;
    child = undefined;

    step(`${received.length} events received; checking`);
    // 1. Replaying the events per key in arrival order gives exactly the table.
    const state = new Map<string, number>();
    for (const r of received) {
      if (r.type.endsWith('.deleted')) state.delete(r.subject);
      else if (r.record) state.set(r.subject, r.record.v);
    }
    const { rows: final } = await t.db.query<{ id: number; v: number }>(`SELECT id, v FROM ${table}`);
    const wrong = final.filter((row) => state.get(String(row.id)) !== row.v);
    const existing = new Set(final.map((row) => String(row.id)));
    const extra = [...state.keys()].filter((k) => !existing.has(k));
    expect({ wrong: wrong.slice(0, 10), wrongCount: wrong.length }).toEqual({ wrong: [], wrongCount: 0 });
    expect(extra.slice(0, 10)).toEqual([]);
    // 2. No read event after a change committed after its low watermark, for the same key.
    const lastChange = new Map<string, bigint>();
    const late: string[] = [];
    for (const r of received) {
      if (r.type.endsWith('.read')) {
        const c = lastChange.get(r.subject);
        if (c !== undefined && c > lsnValue(r.lsn)) late.push(`${r.id} after a change at ${c.toString(16)}`);
      } else {
        const l = lsnValue(r.lsn);
        if (l > (lastChange.get(r.subject) ?? 0n)) lastChange.set(r.subject, l);
      }
    }
    expect(late.slice(0, 10)).toEqual([]);
    // 3. Resumed after the last accepted chunk, and completed.
    const reads = received.filter((r) => r.backfill === backfillId);
    const afterRestart = reads.filter((r) => r.run === 1).map((r) => Number(r.subject));
    expect(afterRestart.length).toBeGreaterThan(0);
    expect(Math.min(...afterRestart)).toBeGreaterThan(keyAtKill);
    expect(done.state).toBe('completed');
    expect(new Set(reads.map((r) => r.subject)).size).toBeGreaterThan(ROWS * 0.8);
    // Ids are deterministic: a row read twice (its chunk was read again after the kill) has one id.
    for (const r of reads) expect(r.id).toBe(`backfill-${backfillId}-${r.subject}`);
    process.stdout.write(
      `backfill crash test: ${reads.length} read events (${new Set(reads.map((r) => r.id)).size} distinct), ${commits} concurrent commits, ${received.length} deliveries, killed at key ${keyAtKill}\n`,
    );
  }, 600_000);
});
