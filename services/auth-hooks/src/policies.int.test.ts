import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testEnv, uniqueSchema, waitFor } from '@tributary/testing';
import pg from 'pg';
import { buildApp, createPolicies, type PolicyResources } from './app.js';
import { PASSWORD_REJECTION_MESSAGE } from './hooks/password-verification-attempt.js';
import { PgLockoutStore, type PolicySettings } from './policies/index.js';
import { parseSecrets } from './signature.js';
import {
  newSecret,
  payloads,
  publisherFor,
  REQUIRED_CLAIMS,
  RecordingBroker,
  signedHeaders,
  silentLogger,
} from './testing/fixtures.js';

// Real Postgres (the jest global setup's, or DATABASE_URL); events go to a local recording server.

const secret = newSecret();
const broker = new RecordingBroker();
let publisher: ReturnType<typeof publisherFor>;
let admin: pg.Pool;
const appSchema = uniqueSchema('auth_hooks_app');
const lockSchema = uniqueSchema('auth_hooks_lock');
const resources: PolicyResources[] = [];

const noPolicies: PolicySettings = {
  emailDomains: { allow: [], deny: [], message: 'no' },
  claims: undefined,
  passwordLockout: undefined,
  mfaLockout: undefined,
};

async function appWith(settings: Partial<PolicySettings>) {
  const res = await createPolicies(
    { ...noPolicies, ...settings },
    testEnv().databaseUrl,
    silentLogger,
    lockSchema,
  );
  resources.push(res);
  const h = buildApp({
    logger: silentLogger,
    secrets: parseSecrets(secret),
    publisher,
    policies: res.policies,
    deliveryTimeoutMs: 2000,
    publishBudgetMs: 1000,
    maxPendingEvents: 100,
    replayCacheSize: 1000,
  });
  const call = async (hook: string, payload: unknown) => {
    const body = JSON.stringify(payload);
    const r = await h.app.inject({
      method: 'POST',
      url: `/hooks/${hook}`,
      headers: signedHeaders([secret], body),
      payload: body,
    });
    return { status: r.statusCode, body: r.json() as Record<string, unknown> };
  };
  return { ...h, call };
}

beforeAll(async () => {
  await broker.start();
  publisher = publisherFor(broker.url);
  admin = new pg.Pool({ connectionString: testEnv().databaseUrl, max: 2 });
  await admin.query(`create schema ${appSchema}`);
  await admin.query(`create table ${appSchema}.user_roles (user_id uuid not null, role text not null)`);
});

afterAll(async () => {
  for (const r of resources) await r.close();
  await admin.query(`drop schema if exists ${appSchema} cascade`);
  await admin.query(`drop schema if exists ${lockSchema} cascade`);
  await admin.end();
  await publisher.close();
  await broker.stop();
});

describe('custom-access-token claims from SQL', () => {
  const claimsSql = (schema: string) =>
    `select min(role) as user_role, array_agg(role order by role) as roles, 'ignored' as sub
       from ${schema}.user_roles where user_id = $1 having count(*) > 0`;

  it('adds the query columns as claims, keeps the full required set, never overrides reserved claims', async () => {
    const h = await appWith({ claims: { sql: claimsSql(appSchema), timeoutMs: 1000, failOpen: false } });
    const p = payloads()['custom-access-token'];
    await admin.query(`insert into ${appSchema}.user_roles values ($1, 'editor'), ($1, 'admin')`, [
      p.user_id,
    ]);
    const res = await h.call('custom-access-token', p);
    expect(res.status).toBe(200);
    const claims = res.body.claims as Record<string, unknown>;
    for (const c of REQUIRED_CLAIMS) expect(claims[c]).toEqual(p.claims[c]);
    expect(claims.user_role).toBe('admin');
    expect(claims.roles).toEqual(['admin', 'editor']);
    expect(claims.sub).toBe(p.user_id);
    const event = await broker.event(p.metadata.uuid);
    expect(event.data).toMatchObject({ result: { added_claims: ['user_role', 'roles'] } });
  });

  it('adds nothing for a user without rows', async () => {
    const h = await appWith({ claims: { sql: claimsSql(appSchema), timeoutMs: 1000, failOpen: false } });
    const p = payloads()['custom-access-token'];
    const res = await h.call('custom-access-token', p);
    expect(res).toEqual({ status: 200, body: { claims: p.claims } });
  });

  it('fails closed by default: a slow or failing query refuses the token with a 5xx error body', async () => {
    for (const sql of [
      `select 'x' as user_role from pg_sleep(5) where $1::uuid is not null`,
      `select role as user_role from ${appSchema}.no_such_table where user_id = $1`,
    ]) {
      const h = await appWith({ claims: { sql, timeoutMs: 200, failOpen: false } });
      const res = await h.call('custom-access-token', payloads()['custom-access-token']);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ error: { http_code: 503, message: expect.any(String) } });
      const errors = await h.app.metrics.getSingleMetric('auth_hooks_policy_errors_total')?.get();
      expect(errors?.values.find((v) => v.labels.policy === 'claims')?.value).toBe(1);
    }
  });

  it('fails open when configured: the token is issued without extras', async () => {
    const h = await appWith({
      claims: {
        sql: `select 'x' as user_role from pg_sleep(5) where $1::uuid is not null`,
        timeoutMs: 200,
        failOpen: true,
      },
    });
    const p = payloads()['custom-access-token'];
    const res = await h.call('custom-access-token', p);
    expect(res).toEqual({ status: 200, body: { claims: p.claims } });
  });

  it('has Postgres cancel the slow statement (statement_timeout), not just stop waiting', async () => {
    const h = await appWith({
      claims: {
        sql: `select 'x' as user_role from pg_sleep(5) where $1::uuid is not null`,
        timeoutMs: 200,
        failOpen: true,
      },
    });
    const res = await h.call('custom-access-token', payloads()['custom-access-token']);
    expect(res.status).toBe(200);
    // Polled, well short of the 5 s sleep: a statement only abandoned by the client would still be there.
    const gone = await waitFor(
      async () => {
        const running = await admin.query(
          `select count(*)::int as n from pg_stat_activity
            where application_name = 'tributary-auth-hooks-claims' and state = 'active' and query like '%pg_sleep(5)%'`,
        );
        return running.rows[0].n === 0;
      },
      { timeoutMs: 2500, message: 'the slow claims statement to be cancelled' },
    );
    expect(gone).toBe(true);
  });
});

describe('password verification lockout in Postgres', () => {
  const lockout = { maxFailures: 3, windowSeconds: 600, lockSeconds: 600, logoutUser: true };

  it('creates its table idempotently, also when several instances start at once', async () => {
    const pools = [1, 2, 3].map(() => new pg.Pool({ connectionString: testEnv().databaseUrl, max: 1 }));
    try {
      await Promise.all(pools.map((p) => new PgLockoutStore(p, lockSchema).init()));
      await new PgLockoutStore(pools[0]!, lockSchema).init();
      const t = await admin.query(
        `select count(*)::int as n from information_schema.tables where table_schema = $1`,
        [lockSchema],
      );
      expect(t.rows[0].n).toBe(1);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('rejects after N failures within the window, also a correct password while locked', async () => {
    const h = await appWith({ passwordLockout: lockout });
    const base = payloads()['password-verification-attempt'];
    const attempt = (valid: boolean, userId = base.user_id) =>
      h.call('password-verification-attempt', {
        ...payloads()['password-verification-attempt'],
        user_id: userId,
        valid,
      });

    expect((await attempt(false)).body).toEqual({ decision: 'continue', should_logout_user: false });
    expect((await attempt(false)).body).toEqual({ decision: 'continue', should_logout_user: false });
    const locked = { decision: 'reject', message: PASSWORD_REJECTION_MESSAGE, should_logout_user: true };
    expect((await attempt(false)).body).toEqual(locked);
    expect((await attempt(true)).body).toEqual(locked);
    // Another user is unaffected.
    expect((await attempt(false, payloads()['password-verification-attempt'].user_id)).body.decision).toBe(
      'continue',
    );

    // The lock runs out (moved into the past rather than waited for): a correct password clears the row.
    await admin.query(
      `update ${lockSchema}.verification_lockouts set locked_until = now() - interval '1 second' where user_id = $1`,
      [base.user_id],
    );
    expect((await attempt(true)).body).toEqual({ decision: 'continue', should_logout_user: false });
    const rows = await admin.query(`select * from ${lockSchema}.verification_lockouts where user_id = $1`, [
      base.user_id,
    ]);
    expect(rows.rowCount).toBe(0);
  });

  it('starts counting again once the window has passed, and after an expired lock', async () => {
    const h = await appWith({ passwordLockout: lockout });
    const userId = payloads()['password-verification-attempt'].user_id;
    const fail = () =>
      h.call('password-verification-attempt', {
        ...payloads()['password-verification-attempt'],
        user_id: userId,
        valid: false,
      });
    const failures = async () =>
      (
        await admin.query(
          `select failures from ${lockSchema}.verification_lockouts where user_id = $1 and kind = 'password'`,
          [userId],
        )
      ).rows[0]?.failures;

    await fail();
    await fail();
    expect(await failures()).toBe(2);
    await admin.query(
      `update ${lockSchema}.verification_lockouts set window_started_at = now() - interval '601 seconds' where user_id = $1`,
      [userId],
    );
    expect((await fail()).body.decision).toBe('continue');
    expect(await failures()).toBe(1);

    await fail();
    expect((await fail()).body.decision).toBe('reject');
    await admin.query(
      `update ${lockSchema}.verification_lockouts set locked_until = now() - interval '1 second' where user_id = $1`,
      [userId],
    );
    expect((await fail()).body.decision).toBe('continue');
    expect(await failures()).toBe(1);
  });

  it('publishes password.attempted with the decision', async () => {
    const h = await appWith({ passwordLockout: { ...lockout, maxFailures: 1 } });
    const p = payloads()['password-verification-attempt'];
    expect((await h.call('password-verification-attempt', p)).body.decision).toBe('reject');
    const event = await broker.event(p.metadata.uuid);
    expect(event.type).toBe('dev.tributary.auth.password.attempted');
    expect(event.data).toMatchObject({ valid: false, result: { decision: 'reject', failures: 1 } });
  });

  it('applies the optional MFA lockout separately from the password one', async () => {
    const h = await appWith({
      passwordLockout: lockout,
      mfaLockout: { maxFailures: 1, windowSeconds: 600, lockSeconds: 600, logoutUser: false },
    });
    const p = { ...payloads()['mfa-verification-attempt'], valid: false };
    const res = await h.call('mfa-verification-attempt', p);
    expect(res.body).toEqual({
      decision: 'reject',
      message: 'Further MFA verification attempts will be rejected.',
    });
    const pw = await h.call('password-verification-attempt', {
      ...payloads()['password-verification-attempt'],
      user_id: p.user_id,
      valid: true,
    });
    expect(pw.body.decision).toBe('continue');
  });
});
