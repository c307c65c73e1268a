import { inLockedTransaction, TributaryError } from '@tributary/shared';
import type pg from 'pg';

/** Default schema of the Postgres broker log (DESIGN.md §4). */
export const DEFAULT_SCHEMA = 'tributary_broker';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertSchemaName(schema: string): void {
  if (!IDENTIFIER.test(schema)) {
    throw new TributaryError(`invalid schema name "${schema}": use lower-case letters, digits and _`, {
      code: 'CONFIG_INVALID',
    });
  }
}

/**
 * The log's tables, one migration per entry, applied in order and recorded in `<schema>.migrations`.
 *
 * - `brokers`: one row per Knative Broker; `next_offset` is the offset the next event gets. Appenders take
 *   this row's lock (UPDATE ... RETURNING) and hold it until commit, so offsets are assigned and committed
 *   in order: a reader never sees offset N+1 before N (no gaps from out-of-order commits, as a sequence or
 *   identity column would give).
 * - `events`: the stored records, exactly as the Kafka backend stores them (CloudEvents Kafka binding,
 *   binary mode): `key` = partitionkey, `headers` = the `ce_` headers and `content-type`, `value` = data.
 * - `subscriptions`: one row per consumer group (trigger) and broker with its committed offset (every
 *   event below it is done).
 * - 2: `subscriptions.epoch`, bumped by every replay (`tributary replay`) that moves the position back; a
 *   commit only applies in the epoch it was made in (see replay.ts).
 */
export function migrations(schema: string): string[] {
  const s = schema;
  return [
    `CREATE TABLE ${s}.brokers (
       id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
       namespace text NOT NULL,
       name text NOT NULL,
       next_offset bigint NOT NULL DEFAULT 0,
       created_at timestamptz NOT NULL DEFAULT now(),
       UNIQUE (namespace, name)
     );
     CREATE TABLE ${s}.events (
       broker_id integer NOT NULL REFERENCES ${s}.brokers (id) ON DELETE CASCADE,
       "offset" bigint NOT NULL,
       key text,
       headers jsonb NOT NULL,
       value bytea,
       stored_at timestamptz NOT NULL DEFAULT clock_timestamp(),
       PRIMARY KEY (broker_id, "offset")
     );
     CREATE INDEX events_stored_at ON ${s}.events (stored_at);
     CREATE TABLE ${s}.subscriptions (
       broker_id integer NOT NULL REFERENCES ${s}.brokers (id) ON DELETE CASCADE,
       group_id text NOT NULL,
       committed_offset bigint NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now(),
       updated_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (broker_id, group_id)
     );`,
    `ALTER TABLE ${s}.subscriptions ADD COLUMN epoch bigint NOT NULL DEFAULT 0;`,
  ];
}

/**
 * Creates the schema and applies pending migrations in one transaction, under an advisory lock so that
 * several broker processes starting at once do not race. Idempotent.
 */
export async function migrate(pool: pg.Pool, schema: string): Promise<number> {
  assertSchemaName(schema);
  return inLockedTransaction(pool, `${schema}.migrate`, async (client: pg.PoolClient) => {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.migrations (
         version integer PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await client.query<{ v: number | null }>(
      `SELECT max(version) AS v FROM ${schema}.migrations`,
    );
    const current = rows[0]?.v ?? 0;
    const all = migrations(schema);
    for (let v = current + 1; v <= all.length; v++) {
      await client.query(all[v - 1]!);
      await client.query(`INSERT INTO ${schema}.migrations (version) VALUES ($1)`, [v]);
    }
    return all.length - current;
  });
}
