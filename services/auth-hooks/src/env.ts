import {
  baseEnvShape,
  envBoolean,
  envInt,
  envList,
  envPostgresUrl,
  envUrl,
  parseEnv,
} from '@tributary/shared';
import { z } from 'zod';
import { parseSecrets } from './signature.js';

/**
 * Every variable auth-hooks reads (DESIGN.md §6), parsed once. Policy variables may also come from the
 * JSON file named by `AUTH_HOOKS_CONFIG`; a variable that is set wins over the file (see policies/config.ts).
 * Unset policy variables are `undefined` here so the file's value (or the built-in default) applies.
 */

/** A non-negative integer env var that stays `undefined` when unset, so a config file can supply it. */
function optionalInt(opts: { min?: number; max?: number } = {}) {
  let n = z.coerce.number().int();
  if (opts.min !== undefined) n = n.min(opts.min);
  if (opts.max !== undefined) n = n.max(opts.max);
  return z.preprocess((v) => (v === undefined || v === '' ? undefined : v), n.optional());
}

function optionalBoolean() {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined;
      const parsed = envBoolean(false).safeParse(v);
      if (parsed.success) return parsed.data;
      ctx.addIssue({ code: 'custom', message: `expected true or false, got "${v}"` });
      return z.NEVER;
    });
}

function optionalList() {
  return z
    .string()
    .optional()
    .transform((v) => (v === undefined ? undefined : envList().parse(v)));
}

export const envSchema = z.object({
  ...baseEnvShape,
  /** Broker ingress URL, as Knative's SinkBinding injects it. */
  K_SINK: envUrl(),
  /** Bearer token for the broker ingress when its JWT auth is on. */
  AUTH_HOOKS_BROKER_TOKEN: z.string().min(1).optional(),
  /** `v1,whsec_<base64>` secrets, `|`-separated; any one verifying is enough (rotation). */
  AUTH_HOOK_SECRETS: z.string().transform((v, ctx) => {
    try {
      return parseSecrets(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  }),
  /** Postgres for the SQL claims policy and the lockout table; required when either is on. */
  DATABASE_URL: envPostgresUrl().optional(),
  /** Optional JSON file with the policies (same settings as the variables below). */
  AUTH_HOOKS_CONFIG: z.string().min(1).optional(),
  /** Schema holding the lockout table (default `tributary_auth`). */
  AUTH_HOOKS_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a lower-case SQL identifier')
    .default('tributary_auth'),
  AUTH_HOOKS_ALLOWED_EMAIL_DOMAINS: optionalList(),
  AUTH_HOOKS_DENIED_EMAIL_DOMAINS: optionalList(),
  AUTH_HOOKS_CLAIMS_SQL: z.string().min(1).optional(),
  AUTH_HOOKS_CLAIMS_TIMEOUT_MS: optionalInt({ min: 1, max: 4000 }),
  AUTH_HOOKS_CLAIMS_FAIL_OPEN: optionalBoolean(),
  AUTH_HOOKS_LOCKOUT_MAX_FAILURES: optionalInt({ min: 0, max: 1000 }),
  AUTH_HOOKS_LOCKOUT_WINDOW_SECONDS: optionalInt({ min: 1 }),
  AUTH_HOOKS_LOCKOUT_SECONDS: optionalInt({ min: 1 }),
  AUTH_HOOKS_LOCKOUT_LOGOUT: optionalBoolean(),
  AUTH_HOOKS_MFA_LOCKOUT_MAX_FAILURES: optionalInt({ min: 0, max: 1000 }),
  /** Deadline for the broker to accept a send-email/send-sms event before answering 503 (Auth allows 5 s in all). */
  AUTH_HOOKS_DELIVERY_TIMEOUT_MS: envInt(1500, { min: 50, max: 4500 }),
  /** How long other hooks wait for the broker before answering anyway (publishing continues in the background). */
  AUTH_HOOKS_PUBLISH_BUDGET_MS: envInt(200, { min: 0, max: 2000 }),
  /** Most events publishing in the background at once; beyond it events are dropped and counted. */
  AUTH_HOOKS_PUBLISH_MAX_PENDING: envInt(1000, { min: 1 }),
  /** Most `webhook-id`s remembered for replay detection (each for the 5-minute tolerance window). */
  AUTH_HOOKS_REPLAY_CACHE_SIZE: envInt(100_000, { min: 1 }),
});

export type Env = z.output<typeof envSchema>;

export function loadEnv(env: Record<string, string | undefined> = process.env): Env {
  return parseEnv(envSchema, env);
}
