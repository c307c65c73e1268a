import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@tributary/shared';
import { loadEnv } from '../env.js';
import { newSecret } from '../testing/fixtures.js';
import { loadPolicySettings, readPolicyFile, resolvePolicies } from './config.js';
import { EmailDomainPolicy } from './email-domains.js';

const baseEnv = { K_SINK: 'http://127.0.0.1:8080/default/default', AUTH_HOOK_SECRETS: newSecret() };

describe('EmailDomainPolicy', () => {
  const policy = new EmailDomainPolicy({
    allow: ['Example.com', '*.example.org'],
    deny: ['bad.example.org'],
    message: 'm',
  });

  it('matches exact domains and *.subdomains, case-insensitively; deny wins', () => {
    expect(policy.check('a@EXAMPLE.com')).toEqual({ allowed: true });
    expect(policy.check('a@eu.example.org')).toEqual({ allowed: true });
    expect(policy.check('a@example.org')).toEqual({
      allowed: false,
      domain: 'example.org',
      rule: 'not_allowed',
    });
    expect(policy.check('a@bad.example.org')).toEqual({
      allowed: false,
      domain: 'bad.example.org',
      rule: 'denied',
    });
  });

  it('leaves users without an email alone, and allows everything when empty', () => {
    expect(policy.check(undefined)).toEqual({ allowed: true });
    expect(policy.check('')).toEqual({ allowed: true });
    expect(new EmailDomainPolicy({ allow: [], deny: [], message: 'm' }).check('x@y.z')).toEqual({
      allowed: true,
    });
  });
});

describe('policy configuration', () => {
  it('defaults: password lockout 5 in 15 min, no claims query, claims fail closed', () => {
    const s = resolvePolicies(loadEnv(baseEnv));
    expect(s.passwordLockout).toEqual({
      maxFailures: 5,
      windowSeconds: 900,
      lockSeconds: 900,
      logoutUser: false,
    });
    expect(s.claims).toBeUndefined();
    expect(s.mfaLockout).toBeUndefined();
    const c = resolvePolicies(
      loadEnv({ ...baseEnv, AUTH_HOOKS_CLAIMS_SQL: 'select 1 as x where $1 is not null' }),
    );
    expect(c.claims).toEqual({ sql: 'select 1 as x where $1 is not null', timeoutMs: 500, failOpen: false });
  });

  it('reads the JSON file and lets set variables override it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'auth-hooks-'));
    const path = join(dir, 'policies.json');
    writeFileSync(
      path,
      JSON.stringify({
        emailDomains: { allow: ['example.com'], message: 'Company accounts only.' },
        claims: { sql: 'select 1', timeoutMs: 300, failOpen: true },
        passwordLockout: { maxFailures: 3, logoutUser: true },
      }),
    );
    const env = loadEnv({
      ...baseEnv,
      AUTH_HOOKS_CONFIG: path,
      AUTH_HOOKS_CLAIMS_FAIL_OPEN: 'false',
      AUTH_HOOKS_DENIED_EMAIL_DOMAINS: 'spam.test, junk.test',
    });
    const s = resolvePolicies(env, readPolicyFile(path));
    expect(s.emailDomains).toEqual({
      allow: ['example.com'],
      deny: ['spam.test', 'junk.test'],
      message: 'Company accounts only.',
    });
    expect(s.claims).toEqual({ sql: 'select 1', timeoutMs: 300, failOpen: false });
    expect(s.passwordLockout).toEqual({
      maxFailures: 3,
      windowSeconds: 900,
      lockSeconds: 900,
      logoutUser: true,
    });
  });

  it('names the problem: bad file keys, a missing DATABASE_URL, bad variables', () => {
    const dir = mkdtempSync(join(tmpdir(), 'auth-hooks-'));
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify({ claims: { sql: 'x', timeout: 3 } }));
    expect(() => readPolicyFile(path)).toThrow(/AUTH_HOOKS_CONFIG: .*claims: Unrecognized key/);
    expect(() => loadPolicySettings(loadEnv(baseEnv))).toThrow(/DATABASE_URL: is required/);
    expect(
      loadPolicySettings(loadEnv({ ...baseEnv, AUTH_HOOKS_LOCKOUT_MAX_FAILURES: '0' })).passwordLockout,
    ).toBe(undefined);
    expect(() => loadEnv({ ...baseEnv, AUTH_HOOK_SECRETS: 'whsec' })).toThrow(ConfigError);
    expect(() => loadEnv({ ...baseEnv, AUTH_HOOK_SECRETS: 'whsec' })).toThrow(/AUTH_HOOK_SECRETS: secret #1/);
    expect(() => loadEnv({ ...baseEnv, AUTH_HOOKS_CLAIMS_FAIL_OPEN: 'maybe' })).toThrow(
      /AUTH_HOOKS_CLAIMS_FAIL_OPEN/,
    );
    expect(() => loadEnv({ AUTH_HOOK_SECRETS: newSecret() })).toThrow(/K_SINK: is required/);
  });
});
