/**
 * Creates the publication and the replication slot when they are missing, and reads where the slot stands.
 * Runs on an ordinary (non-replication) connection.
 */
import { quoteIdent, quoteTable } from '@tributary/shared';
import type pg from 'pg';
import type { Logger } from 'pino';
import { ReplicationSlotMismatchError } from './errors.js';
import { type Lsn, parseLsn } from './lsn.js';

export interface EnsureReplicationOptions {
  slot: string;
  publication: string;
  /** `schema.table` names; empty = FOR ALL TABLES. */
  tables: string[];
  logger?: Logger;
}

export interface SlotState {
  database: string;
  /** The slot's confirmed_flush_lsn: streaming resumes after the last transaction acknowledged there. */
  confirmedFlushLsn: Lsn | undefined;
  created: boolean;
}

type Queryable = Pick<pg.ClientBase, 'query'>;

function normalizeTable(name: string): string {
  return name.includes('.') ? name : `public.${name}`;
}

/** `FOR ...` / `SET ...` clause: `schema.*` entries publish a whole schema (TABLES IN SCHEMA), others one table. */
function publicationTargets(entries: string[]): {
  clause: string;
  tables: Set<string>;
  schemas: Set<string>;
} {
  const tables = new Set<string>();
  const schemas = new Set<string>();
  for (const e of entries) {
    if (e.endsWith('.*')) schemas.add(e.slice(0, -2));
    else tables.add(normalizeTable(e));
  }
  const parts: string[] = [];
  if (tables.size > 0) parts.push(`TABLE ${[...tables].map(quoteTable).join(', ')}`);
  if (schemas.size > 0) parts.push(`TABLES IN SCHEMA ${[...schemas].map(quoteIdent).join(', ')}`);
  return { clause: parts.join(', '), tables, schemas };
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

/**
 * Creates the publication if missing: FOR ALL TABLES when `tables` is empty, else the listed tables
 * (`schema.table`) and schemas (`schema.*`). An existing publication for specific tables is brought in line
 * with the list; one FOR ALL TABLES is left alone.
 */
export async function ensurePublication(db: Queryable, opts: EnsureReplicationOptions): Promise<void> {
  const { rows } = await db.query<{ oid: number; puballtables: boolean }>(
    'SELECT oid, puballtables FROM pg_publication WHERE pubname = $1',
    [opts.publication],
  );
  const want = publicationTargets(opts.tables);
  const existing = rows[0];
  if (!existing) {
    try {
      await db.query(
        `CREATE PUBLICATION ${quoteIdent(opts.publication)} ${opts.tables.length === 0 ? 'FOR ALL TABLES' : `FOR ${want.clause}`}`,
      );
      opts.logger?.info({ publication: opts.publication, tables: opts.tables }, 'created publication');
    } catch (err) {
      // Another instance created it at the same moment.
      if ((err as { code?: string }).code !== '42710') throw err;
    }
    return;
  }
  if (opts.tables.length === 0 || existing.puballtables) return;
  const { rows: tables } = await db.query<{ name: string }>(
    `SELECT n.nspname || '.' || c.relname AS name
       FROM pg_publication_rel pr JOIN pg_class c ON c.oid = pr.prrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE pr.prpubid = $1`,
    [existing.oid],
  );
  const { rows: schemas } = await db.query<{ name: string }>(
    `SELECT n.nspname AS name FROM pg_publication_namespace pn JOIN pg_namespace n ON n.oid = pn.pnnspid
      WHERE pn.pnpubid = $1`,
    [existing.oid],
  );
  const haveTables = new Set(tables.map((r) => r.name));
  const haveSchemas = new Set(schemas.map((r) => r.name));
  if (!sameSet(want.tables, haveTables) || !sameSet(want.schemas, haveSchemas)) {
    await db.query(`ALTER PUBLICATION ${quoteIdent(opts.publication)} SET ${want.clause}`);
    opts.logger?.info({ publication: opts.publication, tables: opts.tables }, 'updated publication');
  }
}

export async function ensureSlot(db: Queryable, opts: EnsureReplicationOptions): Promise<SlotState> {
  const { rows: dbRows } = await db.query<{ db: string }>('SELECT current_database() AS db');
  const database = dbRows[0]?.db ?? 'postgres';
  const { rows } = await db.query<{ plugin: string; database: string; confirmed_flush_lsn: string | null }>(
    'SELECT plugin, database, confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1',
    [opts.slot],
  );
  const slot = rows[0];
  if (slot) {
    if (slot.plugin !== 'pgoutput' || slot.database !== database) {
      throw new ReplicationSlotMismatchError(opts.slot, slot, database);
    }
    return {
      database,
      confirmedFlushLsn: slot.confirmed_flush_lsn ? parseLsn(slot.confirmed_flush_lsn) : undefined,
      created: false,
    };
  }
  try {
    const { rows: created } = await db.query<{ lsn: string }>(
      "SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')",
      [opts.slot],
    );
    opts.logger?.info({ slot: opts.slot, lsn: created[0]?.lsn }, 'created replication slot');
    return { database, confirmedFlushLsn: created[0] ? parseLsn(created[0].lsn) : undefined, created: true };
  } catch (err) {
    if ((err as { code?: string }).code !== '42710') throw err;
    return ensureSlot(db, opts);
  }
}

/** Primary-key column names of a table, in key order (empty when it has none). */
export async function primaryKeyColumns(db: Queryable, schema: string, table: string): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT a.attname AS name
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
      WHERE i.indisprimary AND n.nspname = $1 AND c.relname = $2
      ORDER BY k.ord`,
    [schema, table],
  );
  return rows.map((r) => r.name);
}
