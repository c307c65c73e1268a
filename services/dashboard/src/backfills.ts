/**
 * The dashboard's backfills view: the table backfills db-events runs (DESIGN.md §3.1), read from db-events'
 * progress table `<schema>.backfills` in the database it streams, and cancelled through db-events' SQL function
 * `<schema>.cancel_backfill(id)`. Both routes are behind operator auth like every /api route; cancel is a
 * state-changing call, so it is CSRF-checked and audit-logged (`backfills.cancel`).
 *
 *   GET  /api/backfills             -> { available, backfills: [...] } (most recent first)
 *   POST /api/backfills/:id/cancel  -> 200 { ok, id, state } | 404 BACKFILL_NOT_FOUND | 409 BACKFILL_NOT_ACTIVE
 */
import { type Logger, TributaryError } from '@tributary/shared';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import type { BackfillCancelled, BackfillList, BackfillState, BackfillView } from './backfills-wire.js';

export type { BackfillCancelled, BackfillList, BackfillView } from './backfills-wire.js';

/** db-events' schema when nothing else is said (its DB_EVENTS_SCHEMA default). */
export const DEFAULT_BACKFILL_SCHEMA = 'tributary';

/** A db-events schema name, as db-events' DB_EVENTS_SCHEMA accepts it. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export interface BackfillSource {
  /** Undefined when db-events' schema is not in the database (db-events never ran there). */
  list(): Promise<BackfillView[] | undefined>;
  cancel(id: string): Promise<{ cancelled: boolean; state: string | undefined }>;
  close(): Promise<void>;
}

export function createBackfillSource(opts: {
  databaseUrl: string;
  schema?: string;
  logger: Logger;
}): BackfillSource {
  const schema = opts.schema ?? DEFAULT_BACKFILL_SCHEMA;
  if (!SCHEMA_NAME.test(schema)) {
    throw new TributaryError(`invalid db-events schema name "${schema}"`, { code: 'CONFIG_INVALID' });
  }
  const q = `"${schema}"`;
  const pool = new pg.Pool({
    connectionString: opts.databaseUrl,
    max: 1,
    application_name: 'tributary-dashboard',
  });
  pool.on('error', (err) =>
    opts.logger.warn({ err: err.message }, 'backfills: idle Postgres connection failed'),
  );
  const toView = (r: Record<string, unknown>): BackfillView => ({
    id: r.id as string,
    table: `${r.table_schema}.${r.table_name}`,
    where: (r.where_clause as string | null) ?? null,
    chunkSize: Number(r.chunk_size),
    state: r.state as BackfillState,
    rowsDone: Number(r.rows_done),
    events: Number(r.events),
    totalEstimate: r.total_estimate === null ? null : Number(r.total_estimate),
    error: (r.error as string | null) ?? null,
    createdAt: (r.created_at as Date).toISOString(),
    startedAt: r.started_at ? (r.started_at as Date).toISOString() : null,
    updatedAt: (r.updated_at as Date).toISOString(),
    finishedAt: r.finished_at ? (r.finished_at as Date).toISOString() : null,
  });
  return {
    async list() {
      try {
        const { rows } = await pool.query(
          `SELECT * FROM ${q}.backfills ORDER BY created_at DESC, id DESC LIMIT 100`,
        );
        return rows.map(toView);
      } catch (err) {
        if ((err as { code?: string }).code === '42P01' || (err as { code?: string }).code === '3F000')
          return undefined;
        throw err;
      }
    },
    async cancel(id) {
      const { rows } = await pool.query<{ ok: boolean | null }>(`SELECT ${q}.cancel_backfill($1) AS ok`, [
        id,
      ]);
      if (rows[0]?.ok) return { cancelled: true, state: 'cancelled' };
      const { rows: current } = await pool.query<{ state: string }>(
        `SELECT state FROM ${q}.backfills WHERE id = $1`,
        [id],
      );
      return { cancelled: false, state: current[0]?.state };
    },
    close: () => pool.end(),
  };
}

/** Registers the backfill routes; without a source (no DATABASE_URL) the list says it is unavailable. */
export function registerBackfillRoutes(app: FastifyInstance, source: BackfillSource | undefined): void {
  app.get('/api/backfills', async (): Promise<BackfillList> => {
    const backfills = source ? await source.list() : undefined;
    return { available: backfills !== undefined, backfills: backfills ?? [] };
  });
  app.post<{ Params: { id: string } }>('/api/backfills/:id/cancel', async (req, reply) => {
    if (!source) {
      return reply.status(404).send({
        error: 'Not Found',
        code: 'BACKFILLS_UNAVAILABLE',
        message: 'the dashboard has no DATABASE_URL, so it cannot reach db-events backfills',
      });
    }
    const id = req.params.id;
    const r = await source.cancel(id);
    if (r.cancelled) return { ok: true, id, state: 'cancelled' } satisfies BackfillCancelled;
    if (r.state === undefined) {
      return reply
        .status(404)
        .send({ error: 'Not Found', code: 'BACKFILL_NOT_FOUND', message: `no backfill ${id.slice(0, 100)}` });
    }
    return reply.status(409).send({
      error: 'Conflict',
      code: 'BACKFILL_NOT_ACTIVE',
      message: `backfill ${id} is already ${r.state}; only pending or running backfills can be cancelled`,
      state: r.state,
    });
  });
}
