/**
 * db-events' own schema (DB_EVENTS_SCHEMA, default `tributary`): the backfill progress table and the SQL
 * functions that start and cancel a backfill. Created (idempotently) when db-events starts streaming, under an
 * advisory lock so two instances starting together do not race on CREATE OR REPLACE.
 *
 *   SELECT tributary.backfill('public.users', filter => 'created_at > now() - interval ''1 year''', chunk_size => 5000);
 *   SELECT tributary.cancel_backfill('20261205-101512-3fa9');
 *   SELECT * FROM tributary.backfills ORDER BY created_at DESC;
 */

import { quoteIdent } from '@tributary/shared';
import type pg from 'pg';

/**
 * Rows per chunk when the caller does not say. Debezium's incremental snapshots default to 1,024; here each
 * chunk also waits for the stream to reach its high watermark, and on the loaded bench machine 10,000-row
 * chunks ran 1.4–3× faster than 1,024-row ones (docs/BENCHMARKS.md). A chunk is held in memory until then.
 */
export const DEFAULT_CHUNK_SIZE = 10_000;
/** Largest chunk: a chunk is held in memory between its watermarks. */
export const MAX_CHUNK_SIZE = 100_000;

export const BACKFILL_STATES = ['pending', 'running', 'completed', 'cancelled', 'failed'] as const;
export type BackfillState = (typeof BACKFILL_STATES)[number];

/** The key of the advisory lock held while the schema is created (any constant; "tribfill"). */
const MIGRATION_LOCK = 0x7472_6962_6669_6c6cn;

/**
 * The primary key of a table, in key order, with each column's type and whether the type has a default btree
 * operator class (a total order that keyset pagination and `ORDER BY` agree on). Shared by the SQL function
 * and the engine, so both refuse the same tables.
 */
function keyFunction(s: string): string {
  return `
CREATE OR REPLACE FUNCTION ${s}.backfill_key(target regclass)
RETURNS TABLE (column_name text, column_type text, orderable boolean)
LANGUAGE sql STABLE AS $fn$
  SELECT a.attname::text, format_type(a.atttypid, NULL),
         EXISTS (
           SELECT 1 FROM pg_catalog.pg_opclass oc JOIN pg_catalog.pg_am am ON am.oid = oc.opcmethod
            WHERE am.amname = 'btree' AND oc.opcdefault
              AND (oc.opcintype IN (t.oid, NULLIF(t.typbasetype, 0))
                   OR (t.typcategory = 'A' AND oc.opcintype = 'anyarray'::regtype)
                   OR (t.typtype = 'e' AND oc.opcintype = 'anyenum'::regtype)
                   OR (t.typtype = 'r' AND oc.opcintype = 'anyrange'::regtype)
                   OR (t.typtype = 'm' AND oc.opcintype = 'anymultirange'::regtype)
                   OR (t.typtype = 'c' AND oc.opcintype = 'record'::regtype)
                   OR EXISTS (SELECT 1 FROM pg_catalog.pg_cast c
                               WHERE c.castsource = COALESCE(NULLIF(t.typbasetype, 0), t.oid)
                                 AND c.casttarget = oc.opcintype AND c.castmethod = 'b')))
    FROM pg_catalog.pg_index i
    JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
    JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
    JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
   WHERE i.indrelid = target AND i.indisprimary
   ORDER BY k.ord
$fn$;`;
}

function startFunction(s: string): string {
  return `
CREATE OR REPLACE FUNCTION ${s}.backfill(target regclass, filter text DEFAULT NULL, chunk_size integer DEFAULT ${DEFAULT_CHUNK_SIZE})
RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE
  rel record;
  bad text;
  new_id text;
BEGIN
  SELECT n.nspname AS schema_name, c.relname AS table_name, c.relkind INTO rel
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = target;
  IF rel.relkind NOT IN ('r', 'p') THEN
    RAISE EXCEPTION 'BACKFILL_TABLE_NOT_FOUND: % is not a table', target USING ERRCODE = '42809';
  END IF;
  IF chunk_size IS NULL OR chunk_size < 1 OR chunk_size > ${MAX_CHUNK_SIZE} THEN
    RAISE EXCEPTION 'BACKFILL_INVALID_CHUNK_SIZE: chunk_size must be between 1 and ${MAX_CHUNK_SIZE}, got %', chunk_size
      USING ERRCODE = '22023';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM ${s}.backfill_key(target)) THEN
    RAISE EXCEPTION 'BACKFILL_NO_PRIMARY_KEY: table % has no primary key; a backfill reads a table in primary-key order', target
      USING ERRCODE = '55000', HINT = 'Add a primary key (ALTER TABLE ... ADD PRIMARY KEY (...)).';
  END IF;
  SELECT string_agg(format('%I (%s)', column_name, column_type), ', ') INTO bad
    FROM ${s}.backfill_key(target) WHERE NOT orderable;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'BACKFILL_KEY_NOT_ORDERABLE: primary-key column(s) % of % have no default btree order, so the table cannot be read in key order', bad, target
      USING ERRCODE = '55000';
  END IF;
  -- The caller must be able to read the table; then the filter must be a valid condition on it.
  EXECUTE format('SELECT 1 FROM %s LIMIT 0', target);
  IF filter IS NOT NULL THEN
    BEGIN
      EXECUTE format('SELECT 1 FROM %s WHERE (%s) LIMIT 0', target, filter);
    EXCEPTION WHEN OTHERS THEN
      RAISE EXCEPTION 'BACKFILL_INVALID_WHERE: % (in the filter %)', SQLERRM, quote_literal(filter) USING ERRCODE = '22023';
    END;
  END IF;
  INSERT INTO ${s}.backfills (table_schema, table_name, where_clause, chunk_size)
  VALUES (rel.schema_name, rel.table_name, filter, chunk_size)
  RETURNING id INTO new_id;
  RETURN new_id;
END
$fn$;`;
}

function cancelFunction(s: string): string {
  return `
CREATE OR REPLACE FUNCTION ${s}.cancel_backfill(backfill_id text)
RETURNS boolean LANGUAGE sql AS $fn$
  UPDATE ${s}.backfills SET state = 'cancelled', finished_at = now(), updated_at = now()
   WHERE id = backfill_id AND state IN ('pending', 'running')
  RETURNING true
$fn$;`;
}

/** The DDL of db-events' schema `name`, in order. */
export function schemaStatements(name: string): string[] {
  const s = quoteIdent(name);
  return [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    `CREATE TABLE IF NOT EXISTS ${s}.backfills (
       id text PRIMARY KEY DEFAULT (to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYYMMDD-HH24MISS') || '-' || substr(md5(random()::text), 1, 4)),
       table_schema text NOT NULL,
       table_name text NOT NULL,
       where_clause text,
       chunk_size integer NOT NULL DEFAULT ${DEFAULT_CHUNK_SIZE} CHECK (chunk_size BETWEEN 1 AND ${MAX_CHUNK_SIZE}),
       state text NOT NULL DEFAULT 'pending' CHECK (state IN (${BACKFILL_STATES.map((x) => `'${x}'`).join(', ')})),
       key_columns text[],
       last_key text[],
       max_key text[],
       rows_done bigint NOT NULL DEFAULT 0,
       events bigint NOT NULL DEFAULT 0,
       chunks bigint NOT NULL DEFAULT 0,
       total_estimate bigint,
       error text,
       created_at timestamptz NOT NULL DEFAULT now(),
       started_at timestamptz,
       updated_at timestamptz NOT NULL DEFAULT now(),
       finished_at timestamptz
     )`,
    `CREATE INDEX IF NOT EXISTS backfills_active ON ${s}.backfills (created_at) WHERE state IN ('pending', 'running')`,
    `COMMENT ON TABLE ${s}.backfills IS 'Table backfills run by db-events: one row each, with progress (rows_done of total_estimate). Start with ${name}.backfill(table, filter, chunk_size), cancel with ${name}.cancel_backfill(id).'`,
    keyFunction(s),
    startFunction(s),
    cancelFunction(s),
  ];
}

/** Creates or updates db-events' schema (idempotent; serialised across instances by an advisory lock). */
export async function ensureBackfillSchema(pool: pg.Pool, name: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
    for (const stmt of schemaStatements(name)) await client.query(stmt);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
