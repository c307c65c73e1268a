import type { Logger } from '@tributary/shared';
import { TributaryError } from '@tributary/shared';
import type pg from 'pg';

/**
 * Extra access-token claims from a SQL query. The query gets the user id as `$1`; each non-null column of
 * its first row becomes a claim named after the column (so `select role as user_role from user_roles where
 * user_id = $1` adds `user_role`; aggregate many-valued claims with `array_agg`). No row adds nothing.
 * Identity and session claims Auth sets are never overwritten (RESERVED_CLAIMS); anything else, `role`
 * included, may be (a `role` claim is the Postgres role PostgREST switches to: alias the column unless
 * that is what you mean).
 */
export const RESERVED_CLAIMS: ReadonlySet<string> = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'nbf',
  'jti',
  'session_id',
  'aal',
  'amr',
  'is_anonymous',
]);

export interface ClaimsSource {
  claimsFor(userId: string): Promise<Record<string, unknown>>;
}

export class ClaimsQueryError extends TributaryError {
  constructor(message: string, cause: unknown) {
    super(message, { code: 'CLAIMS_QUERY_FAILED', cause });
  }
}

export class SqlClaimsSource implements ClaimsSource {
  private readonly warned = new Set<string>();

  /**
   * `pool` should be created with `statement_timeout` and `query_timeout` set to `timeoutMs` (see
   * `claimsPoolConfig`); the timer here also bounds waiting for a pooled connection.
   */
  constructor(
    private readonly pool: pg.Pool,
    private readonly sql: string,
    private readonly timeoutMs: number,
    private readonly logger?: Logger,
  ) {}

  async claimsFor(userId: string): Promise<Record<string, unknown>> {
    let timer: NodeJS.Timeout | undefined;
    // A little past statement_timeout, so Postgres normally cancels first and this only catches a stuck
    // connection or a wait for a pooled one.
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ClaimsQueryError(`claims query took longer than ${this.timeoutMs} ms`, undefined)),
        this.timeoutMs + 50,
      );
    });
    try {
      const query = this.pool.query({ text: this.sql, values: [userId] });
      // A late rejection after the deadline won must not become an unhandled rejection.
      query.catch(() => {});
      const res = await Promise.race([query, deadline]);
      const row = res.rows[0] as Record<string, unknown> | undefined;
      const claims: Record<string, unknown> = {};
      if (!row) return claims;
      for (const [name, value] of Object.entries(row)) {
        if (value === null || value === undefined) continue;
        if (RESERVED_CLAIMS.has(name)) {
          if (!this.warned.has(name)) {
            this.warned.add(name);
            this.logger?.warn({ claim: name }, 'claims query returned a reserved claim; ignored');
          }
          continue;
        }
        claims[name] = value instanceof Date ? value.toISOString() : value;
      }
      return claims;
    } catch (err) {
      if (err instanceof ClaimsQueryError) throw err;
      throw new ClaimsQueryError(`claims query failed: ${(err as Error).message}`, err);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Pool settings that make Postgres itself cancel a slow claims query. */
export function claimsPoolConfig(connectionString: string, timeoutMs: number): pg.PoolConfig {
  return {
    connectionString,
    max: 10,
    statement_timeout: timeoutMs,
    query_timeout: timeoutMs + 100,
    connectionTimeoutMillis: timeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: 'tributary-auth-hooks-claims',
  };
}
