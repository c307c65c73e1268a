/** Test helpers for backfills: an engine with a backfill runner, on its own db-events schema. */
import { createLogger } from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';
import { BackfillRunner } from '../backfill/runner.js';
import { type BackfillRow, BackfillStore } from '../backfill/store.js';
import type { DbEventsOptions } from '../pipeline.js';
import type { Sink } from '../sink/sink.js';
import { startEngine, type TestDb, type TestEngine, waitFor } from './harness.js';

export interface BackfillTestEngine extends TestEngine {
  runner: BackfillRunner;
  store: BackfillStore;
  /** db-events' schema for this test (`<test schema>_dbe`). */
  dbeSchema: string;
  stop(): Promise<void>;
}

/** Publishes the test schema only, and runs backfills from `<schema>_dbe`. */
export async function startBackfillEngine(
  t: TestDb,
  sink: Sink,
  options: Partial<DbEventsOptions> = {},
): Promise<BackfillTestEngine> {
  const dbeSchema = `${t.schema}_dbe`;
  const runner = new BackfillRunner({
    pool: t.pool,
    connectionString: t.url,
    schema: dbeSchema,
    publication: t.publication,
    logger: createLogger({ name: 'db-events-test', level: process.env.TEST_LOG_LEVEL ?? 'warn' }),
    maxInFlight: options.maxInFlight ?? 10_000,
    pollMs: 50,
  });
  const engine = await startEngine(t, sink, { tables: [`${t.schema}.*`], backfill: runner, ...options });
  runner.start();
  const store = new BackfillStore(t.db, dbeSchema);
  // The runner creates the schema on its first pass.
  await waitFor(
    async () => {
      const { rows } = await t.db.query('SELECT to_regclass($1) AS r', [`${dbeSchema}.backfills`]);
      return rows[0].r !== null;
    },
    { timeoutMs: 20_000, message: 'backfill schema created' },
  );
  return {
    ...engine,
    runner,
    store,
    dbeSchema,
    async stop() {
      await engine.engine.stop();
      await runner.stop();
    },
  };
}

/** Starts a backfill through the SQL function; returns its id. */
export async function startBackfill(
  t: TestDb,
  e: BackfillTestEngine,
  table: string,
  opts: { filter?: string; chunkSize?: number } = {},
): Promise<string> {
  const { rows } = await t.db.query<{ id: string }>(
    `SELECT ${e.dbeSchema}.backfill($1, filter => $2, chunk_size => $3) AS id`,
    [table, opts.filter ?? null, opts.chunkSize ?? 1024],
  );
  return rows[0]?.id as string;
}

export async function waitForState(
  e: BackfillTestEngine,
  id: string,
  state: BackfillRow['state'],
  timeoutMs = 60_000,
): Promise<BackfillRow> {
  return waitFor(
    async () => {
      const row = await e.store.get(id);
      if (row && row.state !== state && (row.state === 'failed' || row.state === 'completed')) {
        throw new Error(`backfill ${id} is ${row.state}, expected ${state}: ${row.error ?? ''}`);
      }
      return row?.state === state ? row : undefined;
    },
    { timeoutMs, intervalMs: 50, message: `backfill ${id} ${state}` },
  );
}

export function readsOf(events: readonly CloudEvent<unknown>[], backfillId: string): CloudEvent<unknown>[] {
  return events.filter((ev) => ev.type === 'dev.tributary.db.row.read' && ev.backfill === backfillId);
}
