import { readFileSync } from 'node:fs';
import { ConfigError } from '@tributary/shared';
import { z } from 'zod';
import type { Env } from '../env.js';
import { DEFAULT_DOMAIN_REJECTION_MESSAGE, type EmailDomainSettings } from './email-domains.js';
import type { LockoutSettings } from './lockout.js';

/**
 * Policy settings, from the JSON file named by `AUTH_HOOKS_CONFIG` and/or the `AUTH_HOOKS_*` variables; a
 * variable that is set overrides the file's value. File shape (every key optional):
 *
 * {
 *   "emailDomains": { "allow": ["example.com"], "deny": ["*.tempmail.dev"], "message": "..." },
 *   "claims": { "sql": "select role as user_role from user_roles where user_id = $1",
 *               "timeoutMs": 500, "failOpen": false },
 *   "passwordLockout": { "maxFailures": 5, "windowSeconds": 900, "lockSeconds": 900, "logoutUser": false },
 *   "mfaLockout": { "maxFailures": 0, "windowSeconds": 900, "lockSeconds": 900 }
 * }
 */

/** Default claims-query timeout: short, so a slow database cannot push Auth past its 5 s hook budget. */
export const DEFAULT_CLAIMS_TIMEOUT_MS = 500;
/** Password lockout defaults: 5 failures within 15 minutes lock for 15 minutes. */
export const DEFAULT_PASSWORD_LOCKOUT: LockoutSettings = {
  maxFailures: 5,
  windowSeconds: 900,
  lockSeconds: 900,
  logoutUser: false,
};

const lockoutFileSchema = z.strictObject({
  maxFailures: z.number().int().min(0).max(1000).optional(),
  windowSeconds: z.number().int().min(1).optional(),
  lockSeconds: z.number().int().min(1).optional(),
  logoutUser: z.boolean().optional(),
});

export const policyFileSchema = z.strictObject({
  emailDomains: z
    .strictObject({
      allow: z.array(z.string()).optional(),
      deny: z.array(z.string()).optional(),
      message: z.string().min(1).optional(),
    })
    .optional(),
  claims: z
    .strictObject({
      sql: z.string().min(1).optional(),
      timeoutMs: z.number().int().min(1).max(4000).optional(),
      failOpen: z.boolean().optional(),
    })
    .optional(),
  passwordLockout: lockoutFileSchema.optional(),
  mfaLockout: lockoutFileSchema.optional(),
});

export type PolicyFile = z.output<typeof policyFileSchema>;

export interface PolicySettings {
  emailDomains: EmailDomainSettings;
  /** Undefined when no claims query is configured. */
  claims: { sql: string; timeoutMs: number; failOpen: boolean } | undefined;
  /** Undefined when off (maxFailures 0). */
  passwordLockout: LockoutSettings | undefined;
  mfaLockout: LockoutSettings | undefined;
}

export function readPolicyFile(path: string): PolicyFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`AUTH_HOOKS_CONFIG: cannot read ${path}: ${(err as Error).message}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([`AUTH_HOOKS_CONFIG: ${path} is not valid JSON: ${(err as Error).message}`]);
  }
  const res = policyFileSchema.safeParse(json);
  if (!res.success) {
    throw new ConfigError(
      res.error.issues.map(
        (i) => `AUTH_HOOKS_CONFIG: ${path}: ${i.path.join('.') || '(root)'}: ${i.message}`,
      ),
    );
  }
  return res.data;
}

export function resolvePolicies(env: Env, file: PolicyFile = {}): PolicySettings {
  const sql = env.AUTH_HOOKS_CLAIMS_SQL ?? file.claims?.sql;
  const password: LockoutSettings = {
    maxFailures:
      env.AUTH_HOOKS_LOCKOUT_MAX_FAILURES ??
      file.passwordLockout?.maxFailures ??
      DEFAULT_PASSWORD_LOCKOUT.maxFailures,
    windowSeconds:
      env.AUTH_HOOKS_LOCKOUT_WINDOW_SECONDS ??
      file.passwordLockout?.windowSeconds ??
      DEFAULT_PASSWORD_LOCKOUT.windowSeconds,
    lockSeconds:
      env.AUTH_HOOKS_LOCKOUT_SECONDS ??
      file.passwordLockout?.lockSeconds ??
      DEFAULT_PASSWORD_LOCKOUT.lockSeconds,
    logoutUser:
      env.AUTH_HOOKS_LOCKOUT_LOGOUT ??
      file.passwordLockout?.logoutUser ??
      DEFAULT_PASSWORD_LOCKOUT.logoutUser,
  };
  // The MFA lockout is off unless asked for; its window and lock length default to the password ones.
  const mfa: LockoutSettings = {
    maxFailures: env.AUTH_HOOKS_MFA_LOCKOUT_MAX_FAILURES ?? file.mfaLockout?.maxFailures ?? 0,
    windowSeconds: file.mfaLockout?.windowSeconds ?? password.windowSeconds,
    lockSeconds: file.mfaLockout?.lockSeconds ?? password.lockSeconds,
    logoutUser: false,
  };
  return {
    emailDomains: {
      allow: env.AUTH_HOOKS_ALLOWED_EMAIL_DOMAINS ?? file.emailDomains?.allow ?? [],
      deny: env.AUTH_HOOKS_DENIED_EMAIL_DOMAINS ?? file.emailDomains?.deny ?? [],
      message: file.emailDomains?.message ?? DEFAULT_DOMAIN_REJECTION_MESSAGE,
    },
    claims: sql
      ? {
          sql,
          timeoutMs: env.AUTH_HOOKS_CLAIMS_TIMEOUT_MS ?? file.claims?.timeoutMs ?? DEFAULT_CLAIMS_TIMEOUT_MS,
          // Fail closed by default: a token without its authorization claims is worse than no token.
          failOpen: env.AUTH_HOOKS_CLAIMS_FAIL_OPEN ?? file.claims?.failOpen ?? false,
        }
      : undefined,
    passwordLockout: password.maxFailures > 0 ? password : undefined,
    mfaLockout: mfa.maxFailures > 0 ? mfa : undefined,
  };
}

/** Reads the file (if any) and merges the environment; checks DATABASE_URL is there when needed. */
export function loadPolicySettings(env: Env): PolicySettings {
  const file = env.AUTH_HOOKS_CONFIG ? readPolicyFile(env.AUTH_HOOKS_CONFIG) : {};
  const settings = resolvePolicies(env, file);
  const needsDb = settings.claims || settings.passwordLockout || settings.mfaLockout;
  if (needsDb && !env.DATABASE_URL) {
    throw new ConfigError([
      'DATABASE_URL: is required when the claims query or a lockout is on ' +
        '(set AUTH_HOOKS_LOCKOUT_MAX_FAILURES=0 to turn the password lockout off)',
    ]);
  }
  return settings;
}
