/**
 * What a backfill needs to know about its table, looked up once per run: the published columns (in the order
 * inserts carry them, with the same value converters), the primary key, and the SQL of one chunk. Tables that
 * cannot be backfilled safely are refused here with a coded {@link BackfillError}.
 */

import { quoteIdent } from '@tributary/shared';
import type pg from 'pg';
import { type Converter, TypeRegistry } from '../decoding/values.js';
import { BACKFILL_ERROR_CODES, BackfillError } from './errors.js';

type Queryable = Pick<pg.ClientBase, 'query'>;

/** OIDs below this are built in; pgoutput announces (with a Type message) only the types at or above it. */
const FIRST_NON_BUILTIN_OID = 10_000;

export interface PlanColumn {
  name: string;
  typeOid: number;
  /** `format_type` without modifier: the cast for a key literal. */
  typeName: string;
  /** False for a key column left out of the publication's column list: read for paging, not emitted. */
  inRecord: boolean;
  convert: Converter;
}

export interface TablePlan {
  schema: string;
  table: string;
  /** `schema.table`, as the decoder names relations. */
  qualified: string;
  /** `"schema"."table"` */
  quoted: string;
  /** Selected columns: the published ones in column order, then any key column they leave out. */
  columns: PlanColumn[];
  /** Positions in {@link columns} of the primary-key columns, in key order. */
  keyIndexes: number[];
  keyColumns: string[];
  where: string | undefined;
}

/** A SQL string literal (standard_conforming_strings on, which the chunk transaction sets). */
export function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * Looks up `schema.table` and checks it can be backfilled through `publication`. `dbEventsSchema` holds the
 * `backfill_key` function, so the engine refuses exactly what the SQL function refuses.
 */
export async function planTable(
  db: Queryable,
  opts: { schema: string; table: string; where?: string | null; publication: string; dbEventsSchema: string },
): Promise<TablePlan> {
  const qualified = `${opts.schema}.${opts.table}`;
  const quoted = `${quoteIdent(opts.schema)}.${quoteIdent(opts.table)}`;
  const { rows: rels } = await db.query<{ oid: number; relkind: string; relreplident: string }>(
    `SELECT c.oid, c.relkind, c.relreplident FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
    [opts.schema, opts.table],
  );
  const rel = rels[0];
  if (!rel || (rel.relkind !== 'r' && rel.relkind !== 'p')) {
    throw new BackfillError(BACKFILL_ERROR_CODES.tableNotFound, `table ${qualified} does not exist`);
  }
  const { rows: key } = await db.query<{ column_name: string; column_type: string; orderable: boolean }>(
    `SELECT column_name, column_type, orderable FROM ${quoteIdent(opts.dbEventsSchema)}.backfill_key($1)`,
    [rel.oid],
  );
  if (key.length === 0) {
    throw new BackfillError(
      BACKFILL_ERROR_CODES.noPrimaryKey,
      `table ${qualified} has no primary key; a backfill reads a table in primary-key order`,
    );
  }
  const unordered = key.filter((k) => !k.orderable);
  if (unordered.length > 0) {
    throw new BackfillError(
      BACKFILL_ERROR_CODES.keyNotOrderable,
      `primary-key column(s) ${unordered.map((k) => `${k.column_name} (${k.column_type})`).join(', ')} of ${qualified} have no default btree order, so the table cannot be read in key order`,
    );
  }
  const keyColumns = key.map((k) => k.column_name);
  await checkReplicaIdentity(db, rel, qualified, keyColumns);
  const { rows: pub } = await db.query<{ attnames: string[] | null }>(
    'SELECT attnames::text[] AS attnames FROM pg_catalog.pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3',
    [opts.publication, opts.schema, opts.table],
  );
  if (!pub[0]) {
    throw new BackfillError(
      BACKFILL_ERROR_CODES.tableNotPublished,
      `table ${qualified} is not in publication ${opts.publication}: db-events would not see its changes while a chunk is read (add it to DB_EVENTS_TABLES)`,
    );
  }
  const published = pub[0].attnames ? new Set(pub[0].attnames) : undefined;
  const { rows: cols } = await db.query<{ name: string; oid: number; typname: string; fmt: string }>(
    `SELECT a.attname AS name, a.atttypid::int AS oid, t.typname, format_type(a.atttypid, NULL) AS fmt
       FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
      ORDER BY a.attnum`,
    [rel.oid],
  );
  const types = new TypeRegistry();
  const column = (c: (typeof cols)[number], inRecord: boolean): PlanColumn => {
    // The decoder learns user-defined types from pgoutput Type messages by name; do the same.
    if (c.oid >= FIRST_NON_BUILTIN_OID) types.learn(c.oid, c.typname);
    return { name: c.name, typeOid: c.oid, typeName: c.fmt, inRecord, convert: types.converter(c.oid) };
  };
  const columns = cols.filter((c) => !published || published.has(c.name)).map((c) => column(c, true));
  for (const k of keyColumns) {
    if (columns.some((c) => c.name === k)) continue;
    const c = cols.find((x) => x.name === k);
    if (c) columns.push(column(c, false));
  }
  const keyIndexes = keyColumns.map((k) => columns.findIndex((c) => c.name === k));
  const where = opts.where ?? undefined;
  if (where !== undefined) {
    try {
      await db.query(`SELECT 1 FROM ${quoted} WHERE (${where}) LIMIT 0`);
    } catch (err) {
      throw new BackfillError(
        BACKFILL_ERROR_CODES.invalidWhere,
        `invalid filter ${literal(where)}: ${(err as Error).message}`,
        err,
      );
    }
  }
  return {
    schema: opts.schema,
    table: opts.table,
    qualified,
    quoted,
    columns,
    keyIndexes,
    keyColumns,
    where,
  };
}

/** Deletes must name the primary key in the stream, or a deleted row could not be dropped from a chunk. */
async function checkReplicaIdentity(
  db: Queryable,
  rel: { oid: number; relreplident: string },
  qualified: string,
  keyColumns: string[],
): Promise<void> {
  if (rel.relreplident === 'd' || rel.relreplident === 'f') return;
  if (rel.relreplident === 'i') {
    const { rows } = await db.query<{ name: string }>(
      `SELECT a.attname AS name FROM pg_catalog.pg_index i
         JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
        WHERE i.indrelid = $1 AND i.indisreplident`,
      [rel.oid],
    );
    const names = new Set(rows.map((r) => r.name));
    if (keyColumns.every((k) => names.has(k))) return;
  }
  throw new BackfillError(
    BACKFILL_ERROR_CODES.replicaIdentity,
    `table ${qualified} has REPLICA IDENTITY ${rel.relreplident === 'n' ? 'NOTHING' : 'USING INDEX without the primary-key columns'}: deletes would not name the key`,
  );
}

const ident = (plan: TablePlan, i: number): string => quoteIdent((plan.columns[i] as PlanColumn).name);

/** `(k1, k2)` */
function keyTuple(plan: TablePlan): string {
  return `(${plan.keyIndexes.map((i) => ident(plan, i)).join(', ')})`;
}

/** `('v1'::type1, 'v2'::type2)` */
function keyLiteral(plan: TablePlan, values: readonly string[]): string {
  return `(${plan.keyIndexes
    .map((i, k) => `${literal(values[k] as string)}::${(plan.columns[i] as PlanColumn).typeName}`)
    .join(', ')})`;
}

/**
 * The SELECT of one chunk: the next `limit` rows after `after` (keyset pagination; composite keys by row
 * comparison, which orders exactly as `ORDER BY k1, k2` does), up to `upTo` (the largest key when the
 * backfill started: rows inserted later arrive as inserts), matching the filter.
 */
export function chunkSql(
  plan: TablePlan,
  opts: { after?: readonly string[] | null; upTo?: readonly string[] | null; limit: number },
): string {
  const conds: string[] = [];
  if (opts.after) conds.push(`${keyTuple(plan)} > ${keyLiteral(plan, opts.after)}`);
  if (opts.upTo) conds.push(`${keyTuple(plan)} <= ${keyLiteral(plan, opts.upTo)}`);
  if (plan.where !== undefined) conds.push(`(${plan.where})`);
  const cols = plan.columns.map((_, i) => ident(plan, i)).join(', ');
  const order = plan.keyIndexes.map((i) => ident(plan, i)).join(', ');
  return `SELECT ${cols} FROM ${plan.quoted}${conds.length > 0 ? ` WHERE ${conds.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ${Math.trunc(opts.limit)}`;
}

/** The SELECT of the largest key (matching the filter): where the backfill stops. */
export function maxKeySql(plan: TablePlan): string {
  const keys = plan.keyIndexes.map((i) => ident(plan, i));
  return `SELECT ${keys.join(', ')} FROM ${plan.quoted}${plan.where !== undefined ? ` WHERE (${plan.where})` : ''} ORDER BY ${keys.map((k) => `${k} DESC`).join(', ')} LIMIT 1`;
}

/** The exact number of rows to backfill (run under a statement timeout). */
export function countSql(plan: TablePlan): string {
  return `SELECT count(*) AS n FROM ${plan.quoted}${plan.where !== undefined ? ` WHERE (${plan.where})` : ''}`;
}

/** The planner's row estimate for the backfill (no scan of the table). */
export function estimateSql(plan: TablePlan): string {
  return `EXPLAIN (FORMAT JSON) SELECT 1 FROM ${plan.quoted}${plan.where !== undefined ? ` WHERE (${plan.where})` : ''}`;
}

/** Session settings under which column text forms are the ones the replication stream sends (values.ts). */
export const TEXT_FORM_SETTINGS = [
  "SET LOCAL DateStyle = 'ISO, MDY'",
  "SET LOCAL TimeZone = 'UTC'",
  "SET LOCAL IntervalStyle = 'postgres'",
  "SET LOCAL bytea_output = 'hex'",
  'SET LOCAL extra_float_digits = 3',
  'SET LOCAL standard_conforming_strings = on',
];
