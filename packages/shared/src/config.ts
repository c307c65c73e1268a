import { ConfigError } from '@tributary/client';
import { z } from 'zod';
import { DEFAULT_HTTP_LIMITS, setDefaultHttpLimits } from './server.js';

/**
 * Environment parsing: every service describes its variables once with zod and calls `parseEnv` in its
 * `src/env.ts`. Errors name each offending variable; nothing else in a service reads `process.env`.
 */

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off', '']);

/** A boolean env var: "true"/"1"/"yes"/"on" and "false"/"0"/"no"/"off" (case-insensitive). `z.coerce.boolean` would read "false" as true. */
export function envBoolean(defaultValue: boolean) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return defaultValue;
      const s = v.trim().toLowerCase();
      if (TRUE.has(s)) return true;
      if (FALSE.has(s)) return false;
      ctx.addIssue({ code: 'custom', message: `expected true or false, got "${v}"` });
      return z.NEVER;
    });
}

/** An integer env var within [min, max]. */
export function envInt(defaultValue: number, opts: { min?: number; max?: number } = {}) {
  let n = z.coerce.number().int();
  if (opts.min !== undefined) n = n.min(opts.min);
  if (opts.max !== undefined) n = n.max(opts.max);
  return z.preprocess((v) => (v === undefined || v === '' ? defaultValue : v), n);
}

/** A comma-separated list env var; blanks are dropped. */
export function envList(defaultValue: string[] = []) {
  return z
    .string()
    .optional()
    .transform((v) =>
      v === undefined
        ? defaultValue
        : v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
    );
}

/** An http(s) URL env var. */
export function envUrl() {
  return z
    .string()
    .url()
    .refine((u) => /^https?:\/\//.test(u), 'expected an http:// or https:// URL');
}

/**
 * A Postgres connection URL env var (`postgres://` or `postgresql://`, as libpq and node-postgres take it):
 * one that does not parse fails at start-up instead of looping on reconnects.
 */
export function envPostgresUrl() {
  return z.string().superRefine((v, ctx) => {
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: 'is not a URL (expected postgres://user:password@host:port/db)',
      });
      return;
    }
    if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
      ctx.addIssue({
        code: 'custom',
        message: `expected a postgres:// or postgresql:// URL, got ${u.protocol}//`,
      });
    } else if (!u.hostname && !u.searchParams.get('host')) {
      ctx.addIssue({ code: 'custom', message: 'has no host' });
    } else {
      try {
        decodeURIComponent(u.username);
        decodeURIComponent(u.password);
        decodeURIComponent(u.pathname);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'has a malformed %-escape (percent-encode "%" as %25)' });
      }
    }
  });
}

export const logLevelSchema = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info');

/** Variables every service understands (DESIGN.md §6). */
export const baseEnvShape = {
  PORT: envInt(8080, { min: 0, max: 65535 }),
  HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: logLevelSchema,
  /** Time to receive a request's headers (ms); see HttpLimits in server.ts. */
  HTTP_HEADERS_TIMEOUT_MS: envInt(DEFAULT_HTTP_LIMITS.headersTimeoutMs, { min: 100, max: 600_000 }),
  /** Time to receive a whole request, headers and body (ms). */
  HTTP_REQUEST_TIMEOUT_MS: envInt(DEFAULT_HTTP_LIMITS.requestTimeoutMs, { min: 100, max: 3_600_000 }),
  /** Idle time of a kept-alive connection (ms). */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: envInt(DEFAULT_HTTP_LIMITS.keepAliveTimeoutMs, { min: 100, max: 600_000 }),
};

/** The server time limits of a parsed env that includes {@link baseEnvShape}. */
export function httpLimitsFromEnv(env: {
  HTTP_HEADERS_TIMEOUT_MS: number;
  HTTP_REQUEST_TIMEOUT_MS: number;
  HTTP_KEEP_ALIVE_TIMEOUT_MS: number;
}) {
  return {
    headersTimeoutMs: env.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: env.HTTP_KEEP_ALIVE_TIMEOUT_MS,
  };
}

/**
 * Parses `env` (default `process.env`) with `schema`. Throws a ConfigError whose message lists each bad
 * variable by name, e.g. `DB_EVENTS_HEARTBEAT_MS: expected number, received NaN`. Values are never echoed
 * for variables that look secret.
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.output<S> {
  const res = schema.safeParse(env);
  if (res.success) return res.data;
  const issues = res.error.issues.map((i) => {
    const name = i.path.map(String).join('.') || '(env)';
    const missing = i.code === 'invalid_type' && env[name] === undefined;
    return `${name}: ${missing ? 'is required but not set' : i.message}`;
  });
  throw new ConfigError(issues);
}

/**
 * For a service's `src/index.ts`: answers `--help` with `usage`, then loads the configuration; invalid
 * configuration is printed as one message naming each bad variable (no stack trace) and exits with 1.
 */
export function loadServiceEnv<T>(name: string, usage: string, load: () => T): T {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${usage.trimEnd()}\n`);
    process.exit(0);
  }
  try {
    const env = load();
    // Every server the service then creates gets its time limits (HTTP_*_TIMEOUT_MS).
    if (env && typeof env === 'object' && 'HTTP_REQUEST_TIMEOUT_MS' in env) {
      setDefaultHttpLimits(httpLimitsFromEnv(env as unknown as Parameters<typeof httpLimitsFromEnv>[0]));
    }
    return env;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${name}: ${err.message}\n`);
    process.exit(1);
  }
}
