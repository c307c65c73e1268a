/**
 * Postgres helpers that need no `pg` dependency here: the pool is typed by the little it is asked for, so a
 * `pg.Pool` fits.
 */
/**
 * A Postgres identifier (schema, table, slot, publication name) for SQL text: double-quoted, `"` doubled,
 * so any name is taken literally and nothing in it is read as SQL.
 */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `public.orders` -> `"public"."orders"`; a bare name means schema `public`. */
export function quoteTable(name: string): string {
  const dot = name.indexOf('.');
  const [schema, table] = dot < 0 ? ['public', name] : [name.slice(0, dot), name.slice(dot + 1)];
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

export interface PgClientLike {
  query(text: string, values?: unknown[]): Promise<unknown>;
  release(): void;
}

export interface PgPoolLike<C extends PgClientLike = PgClientLike> {
  connect(): Promise<C>;
}

/**
 * Runs `fn` in one transaction that first takes the advisory lock `lockKey` (`pg_advisory_xact_lock`,
 * released at commit or rollback), so that replicas starting at once run schema set-up one after another.
 * Rolls back and rethrows when `fn` fails; the client always goes back to the pool.
 */
export async function inLockedTransaction<C extends PgClientLike, T>(
  pool: PgPoolLike<C>,
  lockKey: string,
  fn: (client: C) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lockKey]);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
