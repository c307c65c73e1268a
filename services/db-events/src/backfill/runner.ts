/**
 * Runs table backfills, one at a time, oldest first, on the replication stream db-events already reads (no
 * second slot, no lock). For each chunk: write the LOW watermark, read the next `chunk_size` rows after the
 * last key in one REPEATABLE READ READ ONLY transaction, write the HIGH watermark (flushed), and let the
 * stream's {@link BackfillTracker} emit the chunk at HIGH (window.ts explains why that is safe).
 *
 * Progress is written to the progress table only once the sink has accepted the chunk's last read event, so
 * after a crash or restart the backfill resumes after the last accepted chunk (a chunk read again yields the
 * same event ids). The LSN confirmed to Postgres moves past HIGH only after those events are accepted too,
 * because they sit in the pipeline's sequence like any change.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { quoteIdent } from '@tributary/shared';
import pg from 'pg';
import type { Logger } from 'pino';
import { CopyRows, NO_ROWS } from './copy-rows.js';
import { BACKFILL_ERROR_CODES, BackfillError, SessionEndedError } from './errors.js';
import { readEvents } from './events.js';
import { ensureBackfillSchema } from './schema.js';
import { type BackfillRow, BackfillStore, type Progress } from './store.js';
import {
  chunkSql,
  countSql,
  estimateSql,
  literal,
  maxKeySql,
  planTable,
  type TablePlan,
  TEXT_FORM_SETTINGS,
} from './table.js';
import {
  BACKFILL_PREFIX,
  BackfillTracker,
  type ChunkWindow,
  type WindowResult,
  watermarkContent,
} from './window.js';

/** How often db-events looks for a new backfill when none is running (the SQL function only inserts a row). */
export const DEFAULT_POLL_MS = 1_000;
/** How long counting the rows to backfill may take before the planner's estimate is used instead. */
export const COUNT_TIMEOUT_MS = 2_000;

export interface BackfillRunnerOptions {
  /** Ordinary connections: schema creation and the progress table. */
  pool: pg.Pool;
  /** For the runner's own connection, which reads the chunks and writes the watermarks. */
  connectionString: string;
  /** db-events' schema (DB_EVENTS_SCHEMA). */
  schema: string;
  publication: string;
  logger: Logger;
  /**
   * The pipeline's in-flight bound: a chunk's HIGH (which releases its events) is written only once the
   * in-flight events fall below half.
   */
  maxInFlight: number;
  pollMs?: number;
}

/** What a replication session offers the runner. */
export interface StreamSession {
  database: string;
  inFlight(): number;
}

interface Attached {
  session: StreamSession;
  tracker: BackfillTracker;
  ended: boolean;
}

/** A chunk read between its watermarks (its HIGH not necessarily written yet). */
interface Chunk {
  token: string;
  window: ChunkWindow;
  rows: CopyRows;
  /** The key of the chunk's last row (its rows are released once their events are built). */
  lastKey: string[] | null;
  /** The backfill's state read with the chunk: anything but `running` stops it. */
  state: string | undefined;
  /** Progress once emitted at HIGH; recorded when the sink accepts the chunk. */
  accepted: Progress | undefined;
}

/** The state of one backfill's chunk loop. */
interface ChunkLoop {
  job: BackfillRow;
  plan: TablePlan;
  client: pg.Client;
  attached: Attached;
  /** Progress of the chunks accepted so far. */
  progress: Progress;
  /** Chunks are read only while the stream has at most this many events in flight. */
  half: number;
  /** Chunks opened so far (part of each watermark token). */
  opened: number;
}

/** Forgets a chunk read ahead (its window closed): it is never emitted without its HIGH. */
async function forgetChunk(attached: Attached, ahead: Promise<Chunk> | undefined): Promise<void> {
  const c = await ahead?.catch(() => undefined);
  if (c) attached.tracker.close(c.token);
}

/** Text of every column, parsed by nobody: values.ts converts them as it does the stream's. */
const RAW_TEXT = { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig;

export class BackfillRunner {
  private attached: Attached | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private progressChain: Promise<unknown> = Promise.resolve();
  private readonly store: BackfillStore;
  private readonly log: Logger;
  private readonly pollMs: number;
  private readonly stopping = new AbortController();

  constructor(private readonly opts: BackfillRunnerOptions) {
    this.store = new BackfillStore(opts.pool, opts.schema);
    this.log = opts.logger.child({ component: 'backfill' });
    this.pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
  }

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.detach();
    this.wake?.();
    await this.running;
  }

  /** A replication session is streaming: returns the tracker to feed its messages to. */
  attach(session: StreamSession): BackfillTracker {
    this.detach();
    const tracker = new BackfillTracker();
    this.attached = { session, tracker, ended: false };
    this.wake?.();
    return tracker;
  }

  /** The session ended: chunks in flight fail and are read again in the next session. */
  detach(): void {
    const a = this.attached;
    if (!a) return;
    a.ended = true;
    a.tracker.abort(new SessionEndedError());
    this.attached = undefined;
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.stopping.signal }).catch(() => undefined);
  }

  private async waitForSession(): Promise<Attached | undefined> {
    while (!this.stopped && !this.attached) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, this.pollMs).unref();
      });
      this.wake = undefined;
    }
    return this.stopped ? undefined : this.attached;
  }

  private async loop(): Promise<void> {
    let schemaReady = false;
    while (!this.stopped) {
      try {
        if (!schemaReady) {
          await ensureBackfillSchema(this.opts.pool, this.opts.schema);
          schemaReady = true;
        }
        const attached = await this.waitForSession();
        if (!attached) break;
        await this.progressChain;
        const job = await this.store.next();
        if (!job) {
          await this.pause(this.pollMs);
          continue;
        }
        await this.run(job, attached);
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof SessionEndedError) continue;
        this.log.warn({ err: (err as Error).message }, 'backfill step failed; retrying');
        await this.pause(Math.max(this.pollMs, 1_000));
      }
    }
  }

  private async run(job: BackfillRow, attached: Attached): Promise<void> {
    const client = new pg.Client({
      connectionString: this.opts.connectionString,
      application_name: 'tributary-db-events-backfill',
    });
    client.on('error', (err) => this.log.warn({ err: err.message }, 'backfill connection failed'));
    await client.connect();
    try {
      let plan: TablePlan;
      try {
        plan = await planTable(client, {
          schema: job.table_schema,
          table: job.table_name,
          where: job.where_clause,
          publication: this.opts.publication,
          dbEventsSchema: this.opts.schema,
        });
        if (job.key_columns && job.key_columns.join('\u0000') !== plan.keyColumns.join('\u0000')) {
          throw new BackfillError(
            BACKFILL_ERROR_CODES.keyChanged,
            `the primary key of ${plan.qualified} changed from (${job.key_columns.join(', ')}) to (${plan.keyColumns.join(', ')}) during the backfill`,
          );
        }
      } catch (err) {
        if (!(err instanceof BackfillError)) throw err;
        this.log.error({ backfill: job.id, code: err.code, err: err.message }, 'backfill refused');
        await this.store.fail(job.id, `${err.code}: ${err.message}`);
        return;
      }
      if (job.state === 'pending') {
        const fixed = await this.fix(client, plan);
        if (!(await this.store.start(job.id, { keyColumns: plan.keyColumns, ...fixed }))) return;
        job.max_key = fixed.maxKey;
        this.log.info(
          { backfill: job.id, table: plan.qualified, estimate: fixed.totalEstimate },
          'backfill started',
        );
        if (fixed.maxKey === null) {
          await this.store.progress(job.id, {
            lastKey: null,
            rowsDone: 0,
            events: 0,
            chunks: 0,
            completed: true,
          });
          this.log.info({ backfill: job.id }, 'backfill completed (no rows)');
          return;
        }
      } else {
        this.log.info({ backfill: job.id, table: plan.qualified, after: job.last_key }, 'backfill resumed');
      }
      attached.tracker.track(plan.qualified, plan.keyColumns);
      try {
        await this.chunks(job, plan, client, attached);
      } finally {
        attached.tracker.untrack();
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Fixed when a backfill starts: where it stops, and how many rows the planner expects. */
  private async fix(
    client: pg.Client,
    plan: TablePlan,
  ): Promise<{ maxKey: string[] | null; totalEstimate: number }> {
    const results = (await client.query({
      text: [
        'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
        ...TEXT_FORM_SETTINGS,
        maxKeySql(plan),
        'COMMIT',
      ].join(';\n'),
      rowMode: 'array',
      types: RAW_TEXT,
    })) as unknown as pg.QueryArrayResult<(string | null)[]>[];
    const maxRow = results[TEXT_FORM_SETTINGS.length + 1]?.rows[0];
    return { maxKey: maxRow ? (maxRow as string[]) : null, totalEstimate: await this.estimate(client, plan) };
  }

  /**
   * The number of rows to backfill: counted when that takes under {@link COUNT_TIMEOUT_MS} (a filter's
   * selectivity is often a planner guess), else the planner's estimate.
   */
  private async estimate(client: pg.Client, plan: TablePlan): Promise<number> {
    try {
      await client.query('BEGIN READ ONLY');
      await client.query(`SET LOCAL statement_timeout = ${COUNT_TIMEOUT_MS}`);
      const { rows } = await client.query<{ n: string }>(countSql(plan));
      await client.query('COMMIT');
      return Number(rows[0]?.n ?? 0);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if ((err as { code?: string }).code !== '57014') throw err;
    }
    const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }>(
      estimateSql(plan),
    );
    return rows[0]?.['QUERY PLAN'][0].Plan['Plan Rows'] ?? 0;
  }

  /**
   * The chunk loop. While the stream catches up with one chunk's HIGH watermark, the next chunk is already
   * read (its LOW comes after that HIGH in the WAL, so the windows do not overlap); its own HIGH is written
   * only once the first chunk has been emitted, so if that chunk must be read again the one read ahead is
   * simply forgotten (without a HIGH it is never emitted).
   */
  private async chunks(
    job: BackfillRow,
    plan: TablePlan,
    client: pg.Client,
    attached: Attached,
  ): Promise<void> {
    const loop: ChunkLoop = {
      job,
      plan,
      client,
      attached,
      progress: {
        lastKey: job.last_key,
        rowsDone: Number(job.rows_done),
        events: Number(job.events),
        chunks: Number(job.chunks),
        completed: false,
      },
      half: Math.max(1, Math.floor(this.opts.maxInFlight / 2)),
      opened: 0,
    };
    const { progress } = loop;
    const open = (after: string[] | null): Promise<Chunk> => this.openChunk(loop, after);
    const forget = (ahead: Promise<Chunk> | undefined): Promise<void> => forgetChunk(attached, ahead);

    let current = await open(progress.lastKey);
    for (;;) {
      if (current.state !== 'running') {
        this.log.info({ backfill: job.id, state: current.state }, 'backfill stopped');
        return;
      }
      try {
        await this.room(loop);
      } catch (err) {
        attached.tracker.close(current.token);
        throw err;
      }
      await this.emitHigh(client, attached, current);
      const ahead =
        current.lastKey && current.rows.length >= job.chunk_size ? open(current.lastKey) : undefined;
      ahead?.catch(() => undefined);
      let result: WindowResult;
      try {
        result = await current.window.done;
      } catch (err) {
        await forget(ahead);
        throw err;
      }
      if (result.retry || !current.accepted) {
        await forget(ahead);
        this.log.debug({ backfill: job.id, chunk: progress.chunks }, 'chunk read again');
        current = await open(progress.lastKey);
        continue;
      }
      const next = current.accepted;
      progress.lastKey = next.lastKey;
      progress.rowsDone = next.rowsDone;
      progress.events = next.events;
      progress.chunks = next.chunks;
      if (next.completed || !ahead) {
        await forget(ahead);
        await this.progressChain;
        this.log.info(
          { backfill: job.id, rows: next.rowsDone, events: next.events, chunks: next.chunks },
          'backfill completed',
        );
        return;
      }
      current = await ahead;
    }
  }

  /**
   * Reads the chunk after `after` between its LOW watermark and its snapshot; its HIGH, which releases its
   * events into the stream, is written by the loop once the stream has room ({@link room}). Reading does not
   * wait for room: the rows of one chunk ahead are held either way, and reading while the chunk before drains
   * keeps the two overlapped.
   */
  private async openChunk(loop: ChunkLoop, after: string[] | null): Promise<Chunk> {
    const { job, plan, client, attached, progress } = loop;
    if (attached.ended || this.stopped) throw new SessionEndedError();
    const token = `${job.id}/${progress.chunks}.${loop.opened++}/${randomBytes(4).toString('hex')}`;
    const readAt = new Date().toISOString();
    // The callbacks run at HIGH and at acceptance, after `chunk` is set.
    const window = attached.tracker.open(
      token,
      (kept, lowLsn) => {
        const events = readEvents(plan, chunk.rows, kept, lowLsn, {
          database: attached.session.database,
          backfillId: job.id,
          readAt,
        });
        chunk.accepted = {
          lastKey: chunk.lastKey ?? progress.lastKey,
          rowsDone: progress.rowsDone + chunk.rows.length,
          events: progress.events + events.length,
          chunks: progress.chunks + 1,
          completed: chunk.rows.length < job.chunk_size,
        };
        return events;
      },
      () => {
        if (chunk.accepted) this.persist(job.id, chunk.accepted);
      },
    );
    const chunk: Chunk = {
      token,
      window,
      rows: NO_ROWS,
      lastKey: null,
      state: undefined,
      accepted: undefined,
    };
    try {
      await client.query('SELECT pg_logical_emit_message(false, $1, $2)', [
        BACKFILL_PREFIX,
        watermarkContent({ token, mark: 'low' }),
      ]);
      const read = await this.read(client, plan, job, after);
      chunk.state = read.state;
      if (chunk.state === 'running') {
        chunk.rows = read.rows;
        chunk.lastKey = read.rows.length > 0 ? read.rows.keyTexts(read.rows.length - 1) : null;
        chunk.window.chunk = { rows: read.rows, ...read.snapshot };
      } else {
        attached.tracker.close(token);
      }
    } catch (err) {
      attached.tracker.close(token);
      throw err;
    }
    return chunk;
  }

  /** Writes a chunk's HIGH watermark (the chunk is forgotten when that fails). */
  /**
   * Waits until the stream has room for a chunk's events: at most half of `maxInFlight` in flight. Polled
   * every millisecond: the sink drains a chunk's events in a few event-loop turns, and a coarser poll left the
   * loop idle (docs/BENCHMARKS.md "Table backfill").
   */
  private async room(loop: ChunkLoop): Promise<void> {
    const { attached, half } = loop;
    while (attached.session.inFlight() > half) {
      if (attached.ended || this.stopped) throw new SessionEndedError();
      await sleep(1);
    }
    if (attached.ended || this.stopped) throw new SessionEndedError();
  }

  private async emitHigh(client: pg.Client, attached: Attached, current: Chunk): Promise<void> {
    try {
      // Flushed, so the stream reaches it at once rather than at the next WAL flush.
      await client.query('SELECT pg_logical_emit_message(false, $1, $2, true)', [
        BACKFILL_PREFIX,
        watermarkContent({ token: current.token, mark: 'high' }),
      ]);
    } catch (err) {
      attached.tracker.close(current.token);
      throw err;
    }
  }

  /** Records an accepted chunk, in order. */
  private persist(id: string, p: Progress): void {
    this.progressChain = this.progressChain
      .then(() => this.store.progress(id, p))
      .catch((err: Error) =>
        this.log.warn({ backfill: id, err: err.message }, 'backfill progress not saved'),
      );
  }

  /**
   * One chunk, its snapshot's in-progress transactions, and the backfill's state, in one transaction (one
   * round trip). The chunk is read as `COPY (SELECT ...) TO STDOUT` text into a {@link CopyRows} (copy-rows.ts
   * says why).
   */
  private async read(
    client: pg.Client,
    plan: TablePlan,
    job: BackfillRow,
    after: string[] | null,
  ): Promise<{ rows: CopyRows; snapshot: SnapshotIds; state: string | undefined }> {
    const statements = [
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
      ...TEXT_FORM_SETTINGS,
      // The first query takes the transaction's snapshot; the chunk is read in it.
      'SELECT pg_current_snapshot()::text',
      `SELECT state FROM ${quoteIdent(this.opts.schema)}.backfills WHERE id = ${literal(job.id)}`,
      `COPY (${chunkSql(plan, { after, upTo: job.max_key, limit: job.chunk_size })}) TO STDOUT`,
      'COMMIT',
    ];
    const rows = new CopyRows(plan.columns.length, plan.keyIndexes, job.chunk_size);
    const results = await copyQuery(client, statements.join(';\n'), rows);
    rows.finish();
    const base = TEXT_FORM_SETTINGS.length + 1;
    const snapshot = String(results[base]?.rows[0]?.[0] ?? '');
    const state = results[base + 1]?.rows[0]?.[0] ?? undefined;
    return { rows, snapshot: parseSnapshot(snapshot), state: state ?? undefined };
  }
}

/**
 * Runs a simple query (several statements, one round trip) whose COPY ... TO STDOUT data goes to `rows`:
 * node-postgres hands a query's CopyData to its `handleCopyData` (pg's submittable contract, as pg-copy-streams
 * uses it), and `pg.Query` does the rest (results of the other statements, errors, ReadyForQuery).
 */
function copyQuery(
  client: pg.Client,
  text: string,
  rows: CopyRows,
): Promise<pg.QueryArrayResult<(string | null)[]>[]> {
  return new Promise((resolve, reject) => {
    // Thrown from pg's socket handler, a malformed row would escape every catch: kept for the callback.
    let malformed: Error | undefined;
    const config = { text, rowMode: 'array', types: RAW_TEXT } as pg.QueryConfig;
    const query = new pg.Query(config, undefined, (err, res) => {
      const failure = err ?? malformed;
      if (failure) reject(failure);
      else resolve(res as unknown as pg.QueryArrayResult<(string | null)[]>[]);
    });
    (query as unknown as { handleCopyData(msg: { chunk: Buffer }): void }).handleCopyData = (msg) => {
      if (malformed) return;
      try {
        rows.push(msg.chunk);
      } catch (err) {
        malformed = err as Error;
      }
    };
    client.query(query);
  });
}

/** What a chunk's snapshot could not see, as pgoutput names transactions (low 32 bits of the ids). */
export interface SnapshotIds {
  /** In progress when the snapshot was taken. */
  xip: Set<number>;
  /** The first id not yet completed then: this one and every later one are invisible too. */
  xmax: number;
}

/** `xmin:xmax:xip1,xip2` (pg_snapshot, 64-bit ids) -> its in-progress ids and xmax, low 32 bits each. */
export function parseSnapshot(snapshot: string): SnapshotIds {
  const [, xmax, xip] = snapshot.split(':');
  const out = new Set<number>();
  for (const x of xip?.split(',') ?? []) if (x) out.add(Number(BigInt(x) & 0xffff_ffffn));
  return { xip: out, xmax: xmax ? Number(BigInt(xmax) & 0xffff_ffffn) : 0 };
}
