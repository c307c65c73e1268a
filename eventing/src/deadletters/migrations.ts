import { inLockedTransaction } from '@tributary/shared';
import type pg from 'pg';

/**
 * Creates `<schema>.dead_letters` and its index if missing (idempotent). Runs under the lock key the Postgres
 * broker log migrates under, so there is no CREATE SCHEMA race between them. `s` is a checked identifier.
 */
export function migrateDeadLetters(pool: pg.Pool, s: string): Promise<void> {
  return inLockedTransaction(pool, `${s}.migrate`, async (client) => {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.dead_letters (
           id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
           namespace text NOT NULL,
           broker text NOT NULL,
           event_id text NOT NULL,
           event_source text NOT NULL,
           event_type text NOT NULL,
           subject text,
           attributes jsonb NOT NULL,
           error_dest text NOT NULL DEFAULT '',
           error_code integer,
           error_data bytea,
           datacontenttype text,
           data bytea,
           times integer NOT NULL DEFAULT 1,
           first_received_at timestamptz NOT NULL DEFAULT now(),
           received_at timestamptz NOT NULL DEFAULT now(),
           redriven_at timestamptz,
           redrive_count integer NOT NULL DEFAULT 0,
           last_redrive_status integer,
           UNIQUE (namespace, broker, event_source, event_id, error_dest)
         )`,
    );
    // A redrive claims its rows until then, instead of holding row locks while it sends (see redriveAll).
    await client.query(
      `ALTER TABLE ${s}.dead_letters ADD COLUMN IF NOT EXISTS redrive_claimed_until timestamptz`,
    );
    await client.query(
      `CREATE INDEX IF NOT EXISTS dead_letters_pending
           ON ${s}.dead_letters (namespace, broker, id) WHERE redriven_at IS NULL`,
    );
  });
}
