import { redactUrl } from '@tributary/shared';
import pg from 'pg';
import {
  type Command,
  type CommandIo,
  parseOptions,
  ServiceUnavailableError,
  UsageError,
} from '../command.js';

/** The Postgres of `tributary dev` (the same URL `tributary tail` follows by default). */
const DEV_DATABASE_URL = 'postgres://postgres:postgres@127.0.0.1:54322/tributary';
/** db-events' schema when DB_EVENTS_SCHEMA is unset (services/db-events/README.md). */
const DEFAULT_SCHEMA = 'tributary';
const POLL_MS = 500;
/** A backfill still pending after this long: db-events is probably not running against this database. */
const PENDING_HINT_MS = 10_000;

const usage = `usage: tributary backfill <schema.table> [--where <sql>] [--chunk-size <n>] [--detach]
       tributary backfill --list | --watch <id> | --cancel <id>

Emits every existing row of a table as a dev.tributary.db.row.read event, through the db-events that streams
this database, while it keeps streaming changes: no table lock, no second replication slot. Rows are read in
primary-key order, a chunk at a time, between two watermarks written to the WAL; a row changed while its chunk
is read is left to its change event, so a read event never arrives after a newer change to the same row.
Progress is kept in Postgres (<schema>.backfills): if db-events restarts, the backfill resumes after the last
chunk the broker accepted. Event ids are backfill-<backfill id>-<primary key>, the same for every delivery.

The table needs a primary key and must be in db-events' publication (DB_EVENTS_TABLES). Apps and migrations
can do the same in SQL: SELECT tributary.backfill('public.users', filter => 'active', chunk_size => 5000);
and SELECT tributary.cancel_backfill('<id>');

Options:
      --where <sql>      only rows matching this condition, e.g. "created_at > now() - interval '30 days'"
      --chunk-size <n>   rows per chunk (default 10000, at most 100000)
      --detach           start it, print its id and return without following its progress
      --watch <id>       follow the progress of a backfill already started
      --list             list the backfills, most recent first, with their progress
      --cancel <id>      cancel a pending or running backfill (the chunk being read may still be emitted)
      --schema <name>    db-events' schema (default: DB_EVENTS_SCHEMA, else ${DEFAULT_SCHEMA})
  -h, --help             show this help

Environment:
  DATABASE_URL      the database db-events streams (default: the Postgres of \`tributary dev\`,
                    ${DEV_DATABASE_URL})
  DB_EVENTS_SCHEMA  db-events' schema, as db-events is configured

While following, the progress line shows rows read / the planner's estimate, the rate and the time left;
Ctrl-C stops following (the backfill goes on). Exit status: 0 when the backfill completed (or was started
with --detach, listed or cancelled); 1 when it failed or was cancelled, or on an error; 2 on a usage error.`;

export interface BackfillStatus {
  id: string;
  table: string;
  where: string | null;
  chunkSize: number;
  state: string;
  rowsDone: number;
  events: number;
  totalEstimate: number | null;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const TABLE_NAME = /^[^.\s]+\.[^.\s]+$|^[^.\s]+$/;

function num(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * One progress line: `[##########..........] 50,000 / 100,000 rows (50%)  12,500 rows/s  ETA 4s`.
 * `rate` is rows per second (undefined until two samples exist). The estimate is the planner's, so it can be
 * exceeded; the bar then stays full.
 */
export function formatProgress(
  s: Pick<BackfillStatus, 'rowsDone' | 'totalEstimate' | 'state'>,
  rate?: number,
): string {
  const total =
    s.totalEstimate !== null && s.totalEstimate > 0 ? Math.max(s.totalEstimate, s.rowsDone) : undefined;
  const fraction = s.state === 'completed' ? 1 : total ? Math.min(1, s.rowsDone / total) : 0;
  const width = 24;
  const filled = Math.round(fraction * width);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  const parts = [
    `${bar} ${num(s.rowsDone)}${total ? ` / ~${num(total)}` : ''} rows${total ? ` (${Math.floor(fraction * 100)}%)` : ''}`,
  ];
  if (rate !== undefined && s.state === 'running') {
    parts.push(`${num(rate)} rows/s`);
    if (total && rate > 0) parts.push(`ETA ${duration((total - s.rowsDone) / rate)}`);
  }
  if (s.state !== 'running') parts.push(s.state);
  return parts.join('  ');
}

/** Rows per second over the samples of the last `windowMs`. */
export class RateMeter {
  private readonly samples: { at: number; rows: number }[] = [];
  constructor(private readonly windowMs = 5_000) {}

  add(at: number, rows: number): number | undefined {
    this.samples.push({ at, rows });
    while (this.samples.length > 2 && (this.samples[0] as { at: number }).at < at - this.windowMs)
      this.samples.shift();
    const first = this.samples[0] as { at: number; rows: number };
    if (this.samples.length < 2 || at === first.at) return undefined;
    return ((rows - first.rows) * 1000) / (at - first.at);
  }
}

function rowToStatus(r: Record<string, unknown>): BackfillStatus {
  return {
    id: r.id as string,
    table: `${r.table_schema}.${r.table_name}`,
    where: (r.where_clause as string | null) ?? null,
    chunkSize: Number(r.chunk_size),
    state: r.state as string,
    rowsDone: Number(r.rows_done),
    events: Number(r.events),
    totalEstimate: r.total_estimate === null ? null : Number(r.total_estimate),
    error: (r.error as string | null) ?? null,
    createdAt: r.created_at as Date,
    startedAt: (r.started_at as Date | null) ?? null,
    finishedAt: (r.finished_at as Date | null) ?? null,
  };
}

function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/** A Postgres error from the backfill functions: `BACKFILL_NO_PRIMARY_KEY: table ... has no primary key`. */
function describePgError(err: unknown, schema: string): string | undefined {
  const e = err as { code?: string; message?: string };
  if (
    e.code === '3F000' ||
    e.code === '42883' ||
    (e.code === '42P01' && e.message?.includes(`${schema}.backfills`))
  ) {
    return `db-events' schema "${schema}" (with ${schema}.backfill()) is not in this database: start db-events against it (it creates the schema on start), or pass --schema / set DB_EVENTS_SCHEMA as db-events has it`;
  }
  if (typeof e.code === 'string' && e.message) return e.message;
  return undefined;
}

async function connect(io: CommandIo): Promise<pg.Client> {
  const url = io.env.DATABASE_URL || DEV_DATABASE_URL;
  const client = new pg.Client({
    connectionString: url,
    application_name: 'tributary-backfill',
    connectionTimeoutMillis: 5_000,
  });
  try {
    await client.connect();
  } catch (err) {
    throw new ServiceUnavailableError(
      'Postgres',
      redactUrl(url),
      'Start it with `pnpm tributary dev`, or set DATABASE_URL to the database db-events streams.',
      err,
    );
  }
  return client;
}

async function status(db: pg.Client, schema: string, id: string): Promise<BackfillStatus | undefined> {
  const { rows } = await db.query(`SELECT * FROM ${quoteIdent(schema)}.backfills WHERE id = $1`, [id]);
  return rows[0] ? rowToStatus(rows[0]) : undefined;
}

async function watch(db: pg.Client, schema: string, id: string, io: CommandIo): Promise<number> {
  const tty = Boolean(process.stderr.isTTY) && io.env.TERM !== 'dumb';
  const meter = new RateMeter();
  let stop = false;
  const onSignal = () => {
    stop = true;
  };
  process.once('SIGINT', onSignal);
  const started = Date.now();
  let lastLine = '';
  let lastPrinted = 0;
  let hinted = false;
  try {
    for (;;) {
      const s = await status(db, schema, id);
      if (!s) {
        io.stderr(`tributary backfill: no backfill ${id} in ${schema}.backfills`);
        return 1;
      }
      const now = Date.now();
      const rate = s.state === 'running' ? meter.add(now, s.rowsDone) : undefined;
      const line =
        s.state === 'pending' ? `backfill ${id}: waiting for db-events to start it` : formatProgress(s, rate);
      const final = s.state !== 'pending' && s.state !== 'running';
      // On a terminal the line is redrawn in place; in a log, one line every 5 s and the last one.
      if (tty) {
        if (line !== lastLine) io.stderr(`${lastLine ? '\x1b[1A\x1b[2K' : ''}${line}`);
      } else if (final || now - lastPrinted >= 5_000) {
        io.stderr(line);
        lastPrinted = now;
      }
      lastLine = line;
      if (s.state === 'pending' && !hinted && now - started > PENDING_HINT_MS) {
        hinted = true;
        io.stderr(
          `tributary backfill: still pending after ${PENDING_HINT_MS / 1000}s: is db-events running against this database with DB_EVENTS_SCHEMA=${schema}?`,
        );
        lastLine = '';
      }
      if (final) {
        const took =
          s.startedAt && s.finishedAt ? (s.finishedAt.getTime() - s.startedAt.getTime()) / 1000 : undefined;
        if (s.state === 'completed') {
          io.stdout(
            `backfill ${id} completed: ${num(s.rowsDone)} rows read, ${num(s.events)} read events${took !== undefined ? ` in ${duration(took)}` : ''}`,
          );
          return 0;
        }
        io.stderr(`tributary backfill: backfill ${id} ${s.state}${s.error ? `: ${s.error}` : ''}`);
        return 1;
      }
      if (stop) {
        io.stderr(
          `tributary backfill: stopped following; backfill ${id} goes on in db-events (\`tributary backfill --watch ${id}\` follows it again, \`--cancel ${id}\` stops it)`,
        );
        return 130;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    process.off('SIGINT', onSignal);
  }
}

function listLines(rows: BackfillStatus[]): string[] {
  if (rows.length === 0) return ['no backfills'];
  const header = ['ID', 'TABLE', 'STATE', 'ROWS', 'ESTIMATE', 'EVENTS', 'CHUNK', 'CREATED', 'WHERE / ERROR'];
  const cells = rows.map((r) => [
    r.id,
    r.table,
    r.state,
    num(r.rowsDone),
    r.totalEstimate === null ? '-' : num(r.totalEstimate),
    num(r.events),
    String(r.chunkSize),
    r.createdAt.toISOString().replace(/\.\d+Z$/, 'Z'),
    r.error ?? r.where ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: string[]) =>
    c
      .map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(header), ...cells.map(line)];
}

export const backfillCommand: Command = {
  name: 'backfill',
  summary:
    'emit the existing rows of a table as dev.tributary.db.row.read events (with progress; cancel, list)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseOptions(argv, {
      where: { type: 'string' },
      'chunk-size': { type: 'string' },
      detach: { type: 'boolean' },
      watch: { type: 'string' },
      list: { type: 'boolean' },
      cancel: { type: 'string' },
      schema: { type: 'string' },
    });
    const schema = values.schema ?? io.env.DB_EVENTS_SCHEMA ?? DEFAULT_SCHEMA;
    if (!SCHEMA_NAME.test(schema))
      throw new UsageError(`invalid --schema "${schema}": expected [a-z_][a-z0-9_]*`);
    const modes = [
      positionals.length > 0,
      values.list,
      values.watch !== undefined,
      values.cancel !== undefined,
    ].filter(Boolean);
    if (modes.length === 0)
      throw new UsageError('name a table (schema.table), or use --list, --watch <id> or --cancel <id>');
    if (modes.length > 1 || positionals.length > 1) {
      throw new UsageError('give one of: a table, --list, --watch <id>, --cancel <id>');
    }
    let chunkSize: number | undefined;
    if (values['chunk-size'] !== undefined) {
      chunkSize = Number(values['chunk-size']);
      if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > 100_000) {
        throw new UsageError(
          `invalid --chunk-size "${values['chunk-size']}": expected a whole number from 1 to 100000`,
        );
      }
    }
    const table = positionals[0];
    if (table !== undefined && !TABLE_NAME.test(table)) {
      throw new UsageError(`invalid table "${table}": expected schema.table`);
    }
    if (table === undefined && (values.where !== undefined || chunkSize !== undefined || values.detach)) {
      throw new UsageError('--where, --chunk-size and --detach go with a table');
    }
    const db = await connect(io);
    db.on('error', () => undefined);
    try {
      if (values.list) {
        const { rows } = await db.query(
          `SELECT * FROM ${quoteIdent(schema)}.backfills ORDER BY created_at DESC, id DESC LIMIT 100`,
        );
        for (const l of listLines(rows.map(rowToStatus))) io.stdout(l);
        return 0;
      }
      if (values.cancel !== undefined) {
        const { rows } = await db.query<{ ok: boolean | null }>(
          `SELECT ${quoteIdent(schema)}.cancel_backfill($1) AS ok`,
          [values.cancel],
        );
        if (rows[0]?.ok) {
          io.stdout(`backfill ${values.cancel} cancelled`);
          return 0;
        }
        const s = await status(db, schema, values.cancel);
        io.stderr(
          s
            ? `tributary backfill: backfill ${values.cancel} is already ${s.state}; nothing to cancel`
            : `tributary backfill: no backfill ${values.cancel} in ${schema}.backfills (see --list)`,
        );
        return 1;
      }
      if (values.watch !== undefined) return await watch(db, schema, values.watch, io);
      const target = (table as string).includes('.') ? (table as string) : `public.${table}`;
      // Without --chunk-size, the function's own default applies.
      const { rows } = await db.query<{ id: string }>(
        chunkSize === undefined
          ? `SELECT ${quoteIdent(schema)}.backfill($1, filter => $2) AS id`
          : `SELECT ${quoteIdent(schema)}.backfill($1, filter => $2, chunk_size => $3) AS id`,
        chunkSize === undefined ? [target, values.where ?? null] : [target, values.where ?? null, chunkSize],
      );
      const id = rows[0]?.id as string;
      io.stdout(`backfill ${id} started for ${target}${values.where ? ` where ${values.where}` : ''}`);
      if (values.detach) return 0;
      return await watch(db, schema, id, io);
    } catch (err) {
      const message = describePgError(err, schema);
      if (message === undefined) throw err;
      io.stderr(`tributary backfill: ${message}`);
      return 1;
    } finally {
      await db.end().catch(() => undefined);
    }
  },
};
