// The JSON that the dashboard's backfills API answers (src/backfills.ts). Plain types with no imports, so that the
// page (src/ui, type-checked with the DOM library only, bundled by esbuild, which erases `import type`) imports
// them rather than keep a copy. src/ui-contract.ts checks that `BackfillState` is @tributary/db-events' own.

/** A backfill's state (@tributary/db-events' `BackfillState`). */
export type BackfillState = 'pending' | 'running' | 'completed' | 'cancelled' | 'failed';

/** One of db-events' table backfills. */
export interface BackfillView {
  id: string;
  table: string;
  where: string | null;
  chunkSize: number;
  state: BackfillState;
  rowsDone: number;
  events: number;
  totalEstimate: number | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  updatedAt: string;
  finishedAt: string | null;
}

/** What `GET /api/backfills` answers. */
export interface BackfillList {
  /** False when the dashboard has no DATABASE_URL or db-events' schema is not in that database. */
  available: boolean;
  backfills: BackfillView[];
}

/** What `POST /api/backfills/:id/cancel` answers when it cancelled. */
export interface BackfillCancelled {
  ok: true;
  id: string;
  state: 'cancelled';
}
