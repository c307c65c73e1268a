import {
  createServer,
  InvalidCloudEventError,
  isRetriable,
  jsonTooDeep,
  jsonTooDeepMessage,
  type Logger,
  TributaryError,
} from '@tributary/shared';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import pg from 'pg';
import type { Registry } from 'prom-client';
import type { Webhook } from 'standardwebhooks';
import type { Env } from './env.js';
import { errorBody, HookHttpError } from './errors.js';
import { buildHookEvent } from './events.js';
import { HOOKS, type HookContext, type HookDefinition } from './hooks/index.js';
import { createMetrics, type HookMetrics } from './metrics.js';
import {
  claimsPoolConfig,
  EmailDomainPolicy,
  LockoutPolicy,
  loadPolicySettings,
  PgLockoutStore,
  type Policies,
  type PolicySettings,
  SqlClaimsSource,
} from './policies/index.js';
import { type EventPublisher, EventSink } from './publishing.js';
import { HookVerifier, InvalidJsonError, SignatureError } from './signature.js';

export interface AuthHooksOptions {
  logger: Logger;
  /** Parsed `AUTH_HOOK_SECRETS`. */
  secrets: readonly Webhook[];
  publisher: EventPublisher;
  policies: Policies;
  deliveryTimeoutMs: number;
  publishBudgetMs: number;
  maxPendingEvents: number;
  replayCacheSize: number;
  registry?: Registry;
  readiness?: () => boolean | Promise<boolean>;
}

export interface AuthHooksApp {
  app: FastifyInstance;
  sink: EventSink;
  metrics: HookMetrics;
}

/** Seconds Auth is told to wait before retrying a delivery hook (it retries at once on 503 + Retry-After). */
const RETRY_AFTER_SECONDS = 1;

type Outcome = 'ok' | 'rejected' | 'unauthorized' | 'invalid' | 'unavailable' | 'error';

function formatIssues(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`)
    .join('; ');
}

/**
 * Builds (does not listen) the auth-hooks server: `POST /hooks/<hook>` for the seven Supabase Auth hooks,
 * plus `/healthz`, `/readyz`, `/metrics`.
 */
export function buildApp(opts: AuthHooksOptions): AuthHooksApp {
  const logger = opts.logger;
  const app = createServer({
    name: 'auth-hooks',
    logger,
    ...(opts.registry ? { registry: opts.registry } : {}),
    ...(opts.readiness ? { readiness: opts.readiness } : {}),
  });
  const metrics = createMetrics(app.metrics);
  const sink = new EventSink({
    publisher: opts.publisher,
    logger: logger.child({ component: 'events' }),
    metrics,
    maxPending: opts.maxPendingEvents,
  });
  const verifier = new HookVerifier(opts.secrets, { replayCacheSize: opts.replayCacheSize });
  const hookLogger = logger.child({ component: 'hooks' });
  const ctx: HookContext = {
    policies: opts.policies,
    logger: hookLogger,
    policyError: (policy) => metrics.policyErrors.inc({ policy }),
  };

  const deps: HookDeps = { opts, verifier, sink, metrics, ctx };

  void app.register(
    async (scope) => {
      // Signatures cover the exact bytes Auth sent: keep every body as a raw Buffer, whatever its type.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
      scope.setErrorHandler((err: FastifyError, req, reply) => {
        const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
        if (status >= 500) req.log.error({ err }, 'hook request failed');
        void reply.status(status).send(errorBody(status, status >= 500 ? 'internal error' : err.message));
      });
      scope.setNotFoundHandler((req, reply) => {
        void reply.status(404).send(errorBody(404, `no hook at ${req.method} ${req.url}`));
      });
      for (const hook of HOOKS) {
        scope.post(`/${hook.name}`, (req, reply) => handleHook(deps, hook, req, reply));
      }
    },
    { prefix: '/hooks' },
  );

  return { app, sink, metrics };
}

/** What a hook call needs, built once by {@link buildApp}. */
interface HookDeps {
  opts: AuthHooksOptions;
  verifier: HookVerifier;
  sink: EventSink;
  metrics: HookMetrics;
  ctx: HookContext;
}

/** An answer that ends a hook call early, and how the call is counted. */
interface Refusal {
  outcome: Outcome;
  status: number;
  message: string;
}

/**
 * One hook call: verify and parse the payload, run the hook (its policies), publish its event (a delivery
 * hook waits for the broker), answer Auth. Counted and timed by outcome.
 */
async function handleHook(
  deps: HookDeps,
  hook: HookDefinition<unknown>,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const { metrics } = deps;
  const stopTimer = metrics.duration.startTimer({ hook: hook.name });
  let outcome: Outcome = 'error';
  try {
    const payload = readPayload(deps, hook, req);
    if ('refused' in payload) {
      outcome = payload.refused.outcome;
      return reply
        .status(payload.refused.status)
        .send(errorBody(payload.refused.status, payload.refused.message));
    }
    const result = await hook.handle(payload.data, deps.ctx);
    const event = buildHookEvent(hook, payload.json, payload.raw, hook.subject(payload.data), result.result);
    if (hook.delivery) {
      const refused = await deliverEvent(deps, hook, event, req, reply);
      if (refused) {
        outcome = refused.outcome;
        return refused.reply;
      }
    } else {
      await deps.sink.publishSoon(hook.name, event, deps.opts.publishBudgetMs);
    }
    if (result.kind === 'reject') {
      outcome = 'rejected';
      return reply.status(200).send(errorBody(result.httpCode, result.message));
    }
    outcome = 'ok';
    return reply.status(200).send(result.body);
  } catch (err) {
    outcome = 'error';
    const status = err instanceof HookHttpError && err.statusCode ? err.statusCode : 500;
    req.log.error({ err, hook: hook.name }, 'hook failed');
    return reply
      .status(status)
      .send(errorBody(status, status >= 500 ? 'internal error' : (err as Error).message));
  } finally {
    metrics.calls.inc({ hook: hook.name, outcome });
    stopTimer();
  }
}

/** The verified, schema-checked payload of a hook call, or why it is refused (401 or 400). */
function readPayload(
  { verifier, metrics }: HookDeps,
  hook: HookDefinition<unknown>,
  req: FastifyRequest,
): { raw: Buffer; json: Record<string, unknown>; data: unknown } | { refused: Refusal } {
  const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  let json: unknown;
  try {
    json = verifier.verify(raw, req.headers);
  } catch (err) {
    if (err instanceof SignatureError) {
      metrics.signatureFailures.inc({ reason: err.reason });
      req.log.warn({ hook: hook.name, reason: err.reason }, 'hook request refused: signature');
      return { refused: { outcome: 'unauthorized', status: 401, message: err.message } };
    }
    if (err instanceof InvalidJsonError)
      return { refused: { outcome: 'invalid', status: 400, message: err.message } };
    throw err;
  }
  // Signed, but nested beyond any real hook payload: refused before anything walks it.
  if (jsonTooDeep(raw))
    return { refused: { outcome: 'invalid', status: 400, message: jsonTooDeepMessage() } };
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    return { refused: { outcome: 'invalid', status: 400, message: 'request body must be a JSON object' } };
  }
  const parsed = hook.schema.safeParse(json);
  if (!parsed.success) {
    const message = `invalid ${hook.name} payload: ${formatIssues(parsed.error.issues)}`;
    req.log.warn({ hook: hook.name, message }, 'hook request refused: payload');
    return { refused: { outcome: 'invalid', status: 400, message } };
  }
  return { raw, json: json as Record<string, unknown>, data: parsed.data };
}

/**
 * A delivery hook's event (the email or SMS to send) must be on the broker before Auth hears back: waits for
 * it. Returns the answer when the broker did not take it: 400 when the event itself was refused for good,
 * else 503 with Retry-After (Auth retries).
 */
async function deliverEvent(
  { sink, opts }: HookDeps,
  hook: HookDefinition<unknown>,
  event: ReturnType<typeof buildHookEvent>,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<{ outcome: Outcome; reply: FastifyReply } | undefined> {
  try {
    await sink.deliver(hook.name, event, opts.deliveryTimeoutMs);
    return undefined;
  } catch (err) {
    // Only a refusal of the event itself (our check, or the broker's 400/413/431) is the payload's fault; a
    // broker that refuses our credentials or is missing (401/403/404) is ours: 503, Auth retries.
    const status = (err as { status?: unknown }).status;
    if (
      err instanceof InvalidCloudEventError ||
      (!isRetriable(err) && (status === 400 || status === 413 || status === 431))
    ) {
      // The broker (or the event check before it) refused the event for good: the payload cannot
      // become a valid CloudEvent (e.g. a control character in the user id). Retrying cannot help.
      req.log.warn({ hook: hook.name, id: event.id, err: (err as Error).message }, 'hook event refused');
      const message = `the hook payload cannot be published: ${(err as Error).message.slice(0, 300)}`;
      return { outcome: 'invalid', reply: reply.status(400).send(errorBody(400, message)) };
    }
    req.log.error({ err, hook: hook.name, id: event.id }, 'delivery request not accepted by the broker');
    return {
      outcome: 'unavailable',
      reply: reply
        .status(503)
        .header('retry-after', String(RETRY_AFTER_SECONDS))
        .send(errorBody(503, 'The message could not be queued for delivery; try again.')),
    };
  }
}

/** The database-backed parts of the policies, created from settings; `close` ends the pools. */
export interface PolicyResources {
  policies: Policies;
  close(): Promise<void>;
}

export async function createPolicies(
  settings: PolicySettings,
  databaseUrl: string | undefined,
  logger: Logger,
  schema = 'tributary_auth',
): Promise<PolicyResources> {
  const pools: pg.Pool[] = [];
  const policies: Policies = { emailDomains: new EmailDomainPolicy(settings.emailDomains) };
  const onPoolError = (err: Error) => logger.warn({ err }, 'idle Postgres connection failed');
  try {
    if (settings.claims) {
      if (!databaseUrl)
        throw new TributaryError('DATABASE_URL is required for the claims query', { code: 'CONFIG_INVALID' });
      const pool = new pg.Pool(claimsPoolConfig(databaseUrl, settings.claims.timeoutMs));
      pool.on('error', onPoolError);
      pools.push(pool);
      policies.claims = {
        source: new SqlClaimsSource(pool, settings.claims.sql, settings.claims.timeoutMs, logger),
        failOpen: settings.claims.failOpen,
      };
    }
    if (settings.passwordLockout || settings.mfaLockout) {
      if (!databaseUrl)
        throw new TributaryError('DATABASE_URL is required for the lockout', { code: 'CONFIG_INVALID' });
      const pool = new pg.Pool({
        connectionString: databaseUrl,
        max: 10,
        // Lockout queries are single-row upserts; bound them well inside Auth's 5 s budget.
        statement_timeout: 1000,
        query_timeout: 1500,
        connectionTimeoutMillis: 1000,
        application_name: 'tributary-auth-hooks-lockout',
      });
      pool.on('error', onPoolError);
      pools.push(pool);
      const store = new PgLockoutStore(pool, schema);
      await store.init();
      if (settings.passwordLockout) {
        policies.passwordLockout = new LockoutPolicy(store, 'password', settings.passwordLockout);
      }
      if (settings.mfaLockout) policies.mfaLockout = new LockoutPolicy(store, 'mfa', settings.mfaLockout);
    }
  } catch (err) {
    await Promise.allSettled(pools.map((p) => p.end()));
    throw err;
  }
  return {
    policies,
    close: async () => {
      await Promise.allSettled(pools.map((p) => p.end()));
    },
  };
}

/** Loads policies from env (+ config file). Used by index.ts. */
export async function createPoliciesFromEnv(env: Env, logger: Logger): Promise<PolicyResources> {
  return createPolicies(loadPolicySettings(env), env.DATABASE_URL, logger, env.AUTH_HOOKS_SCHEMA);
}
