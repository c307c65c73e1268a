/** The backfill progress table (`<DB_EVENTS_SCHEMA>.backfills`, see schema.ts): reads and state changes. */

import { quoteIdent } from '@tributary/shared';
import type pg from 'pg';
import type { BackfillState } from './schema.js';

type Queryable = Pick<pg.ClientBase, 'query'>;

export interface BackfillRow {
  id: string;
  table_schema: string;
  table_name: string;
  where_clause: string | null;
  chunk_size: number;
  state: BackfillState;
  key_columns: string[] | null;
  /** Key of the last row of the last chunk the sink accepted: a restart resumes after it. */
  last_key: string[] | null;
  /** Largest key when the backfill started: it stops there (later rows arrive as inserts). */
  max_key: string[] | null;
  /** Rows read by accepted chunks. */
  rows_done: string;
  /** Read events emitted by accepted chunks (rows minus those a concurrent change made redundant). */
  events: string;
  chunks: string;
  total_estimate: string | null;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  updated_at: Date;
  finished_at: Date | null;
}

export interface Progress {
  lastKey: string[] | null;
  rowsDone: number;
  events: number;
  chunks: number;
  completed: boolean;
}

export class BackfillStore {
  private readonly table: string;

  constructor(
    private readonly db: Queryable,
    schema: string,
  ) {
    this.table = `${quoteIdent(schema)}.backfills`;
  }

  /** The backfill to work on: one already running (a restart resumes it), else the oldest pending one. */
  async next(): Promise<BackfillRow | undefined> {
    const { rows } = await this.db.query<BackfillRow>(
      `SELECT * FROM ${this.table} WHERE state IN ('running', 'pending')
        ORDER BY state = 'running' DESC, created_at, id LIMIT 1`,
    );
    return rows[0];
  }

  async get(id: string): Promise<BackfillRow | undefined> {
    const { rows } = await this.db.query<BackfillRow>(`SELECT * FROM ${this.table} WHERE id = $1`, [id]);
    return rows[0];
  }

  async list(limit = 100): Promise<BackfillRow[]> {
    const { rows } = await this.db.query<BackfillRow>(
      `SELECT * FROM ${this.table} ORDER BY created_at DESC, id DESC LIMIT $1`,
      [limit],
    );
    return rows;
  }

  /** pending -> running, with what the run fixed at its start. False if it was cancelled meanwhile. */
  async start(
    id: string,
    fixed: { keyColumns: string[]; maxKey: string[] | null; totalEstimate: number },
  ): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE ${this.table}
          SET state = 'running', key_columns = $2, max_key = $3, total_estimate = $4,
              started_at = COALESCE(started_at, now()), updated_at = now()
        WHERE id = $1 AND state = 'pending'`,
      [id, fixed.keyColumns, fixed.maxKey, Math.round(fixed.totalEstimate)],
    );
    return rowCount === 1;
  }

  /** Records an accepted chunk. False if the backfill is no longer running (cancelled). */
  async progress(id: string, p: Progress): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE ${this.table}
          SET last_key = $2, rows_done = $3, events = $4, chunks = $5, updated_at = now(),
              state = CASE WHEN $6 THEN 'completed' ELSE state END,
              finished_at = CASE WHEN $6 THEN now() ELSE finished_at END
        WHERE id = $1 AND state = 'running'`,
      [id, p.lastKey, p.rowsDone, p.events, p.chunks, p.completed],
    );
    return rowCount === 1;
  }

  async fail(id: string, error: string): Promise<void> {
    await this.db.query(
      `UPDATE ${this.table} SET state = 'failed', error = $2, finished_at = now(), updated_at = now()
        WHERE id = $1 AND state IN ('pending', 'running')`,
      [id, error],
    );
  }
}
