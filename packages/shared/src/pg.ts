/**
 * Postgres helpers that need no `pg` dependency here: the pool is typed by the little it is asked for, so a
 * `pg.Pool` fits.
 */
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
