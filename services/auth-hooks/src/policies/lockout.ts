import { inLockedTransaction } from '@tributary/shared';
import type pg from 'pg';

/**
 * Lockout after repeated failed verification attempts, kept in Postgres so every replica and restart
 * sees the same count. One row per (user, kind): failures within the current window, and `locked_until`
 * once `maxFailures` is reached. While locked every attempt, even a correct one, is rejected; a correct
 * attempt while not locked clears the row. A lock that has expired starts a fresh window.
 */
export type LockoutKind = 'password' | 'mfa';

export interface LockoutSettings {
  /** Failed attempts within the window that lock the account; 0 turns the lockout off. */
  maxFailures: number;
  windowSeconds: number;
  lockSeconds: number;
  /** Answer `should_logout_user: true` while locked (password hook only). */
  logoutUser: boolean;
}

export interface LockoutState {
  locked: boolean;
  failures: number;
  lockedUntil: Date | undefined;
}

function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`invalid SQL identifier: ${name}`);
  return `"${name}"`;
}

export class PgLockoutStore {
  private readonly table: string;

  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {
    this.table = `${ident(schema)}.verification_lockouts`;
  }

  /** Creates the schema and table if missing; safe when several replicas start at once. */
  async init(): Promise<void> {
    await inLockedTransaction(this.pool, 'tributary_auth_hooks_ddl', async (client) => {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(this.schema)}`);
      await client.query(`
        CREATE TABLE IF NOT EXISTS ${this.table} (
          user_id text NOT NULL,
          kind text NOT NULL,
          failures integer NOT NULL,
          window_started_at timestamptz NOT NULL,
          locked_until timestamptz,
          updated_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (user_id, kind)
        )`);
    });
  }

  /** Records one attempt atomically and returns the resulting state. */
  async attempt(
    kind: LockoutKind,
    userId: string,
    valid: boolean,
    s: LockoutSettings,
  ): Promise<LockoutState> {
    if (valid) {
      // Clear an unlocked row; report a lock that is still in force (the DELETE cannot see it: its
      // WHERE excludes locked rows, and the SELECT reads the statement's snapshot).
      const res = await this.pool.query<{ failures: number; locked_until: Date }>(
        `WITH cleared AS (
           DELETE FROM ${this.table}
            WHERE user_id = $1 AND kind = $2 AND (locked_until IS NULL OR locked_until <= now())
         )
         SELECT failures, locked_until FROM ${this.table}
          WHERE user_id = $1 AND kind = $2 AND locked_until > now()`,
        [userId, kind],
      );
      const row = res.rows[0];
      return row
        ? { locked: true, failures: row.failures, lockedUntil: row.locked_until }
        : { locked: false, failures: 0, lockedUntil: undefined };
    }
    // A failed attempt. "fresh" = the window has passed or an earlier lock has expired: start over at 1.
    // All SET expressions read the old row (t.*), so they agree with each other.
    const res = await this.pool.query<{ failures: number; locked_until: Date | null; locked: boolean }>(
      `INSERT INTO ${this.table} AS t (user_id, kind, failures, window_started_at, locked_until)
       VALUES ($1, $2, 1, now(), CASE WHEN 1 >= $3 THEN now() + make_interval(secs => $5) END)
       ON CONFLICT (user_id, kind) DO UPDATE SET
         failures = CASE
           WHEN t.locked_until > now() THEN t.failures
           WHEN t.window_started_at <= now() - make_interval(secs => $4)
             OR t.locked_until <= now() THEN 1
           ELSE t.failures + 1 END,
         window_started_at = CASE
           WHEN t.locked_until > now() THEN t.window_started_at
           WHEN t.window_started_at <= now() - make_interval(secs => $4)
             OR t.locked_until <= now() THEN now()
           ELSE t.window_started_at END,
         locked_until = CASE
           WHEN t.locked_until > now() THEN t.locked_until
           WHEN (CASE WHEN t.window_started_at <= now() - make_interval(secs => $4)
                        OR t.locked_until <= now() THEN 1
                      ELSE t.failures + 1 END) >= $3
             THEN now() + make_interval(secs => $5)
           ELSE NULL END,
         updated_at = now()
       RETURNING failures, locked_until, coalesce(locked_until > now(), false) AS locked`,
      [userId, kind, s.maxFailures, s.windowSeconds, s.lockSeconds],
    );
    const row = res.rows[0]!;
    return { locked: row.locked, failures: row.failures, lockedUntil: row.locked_until ?? undefined };
  }
}

/** A lockout policy for one kind of verification. */
export class LockoutPolicy {
  constructor(
    private readonly store: PgLockoutStore,
    readonly kind: LockoutKind,
    readonly settings: LockoutSettings,
  ) {}

  attempt(userId: string, valid: boolean): Promise<LockoutState> {
    return this.store.attempt(this.kind, userId, valid, this.settings);
  }
}
