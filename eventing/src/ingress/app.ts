import { STATUS_CODES } from 'node:http';
import {
  type CloudEvent,
  createServer,
  DEFAULT_MAX_JSON_DEPTH,
  decodeHttp,
  type ErrorCode,
  errorCodeOf,
  InvalidCloudEventError,
  isJsonContentType,
  isRetriable,
  jsonTooDeep,
  jsonTooDeepMessage,
  type Logger,
  TributaryError,
  validateEvent,
} from '@tributary/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Registry } from 'prom-client';
import type { BrokerLog, BrokerRef } from '../log/types.js';
import { ingressMetrics, LabelLimiter } from '../metrics/ingress.js';
import { createJwtAuth, type JwtAuthOptions } from './auth.js';
import { ttlExpired } from './ttl.js';

/** Largest accepted request body (DESIGN.md §4): 1 MiB, answered with 413 above it. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** Says whether a broker exists (is declared in the loaded Broker YAML). Unknown brokers get 404. */
export type BrokerResolver = (broker: BrokerRef) => boolean | Promise<boolean>;

export type EventValidator = (event: CloudEvent<unknown>) => { ok: true } | { ok: false; issues: string[] };

export interface IngressOptions {
  log: BrokerLog;
  brokers: BrokerResolver;
  logger: Logger;
  /** Registry served at /metrics (one is created when omitted). */
  registry?: Registry;
  maxBodyBytes?: number;
  /** Deepest JSON body (structured, batch, or JSON data in binary mode): 400 above it (default 256). */
  maxJsonDepth?: number;
  /** JWT auth (PostgREST-style HS256 tokens with a `role` claim); off when omitted. */
  auth?: JwtAuthOptions;
  /** Checks event data against the catalog (default: `validateEvent` from @tributary/shared). */
  validate?: EventValidator;
  /** Extra readiness condition for /readyz. */
  readiness?: () => boolean | Promise<boolean>;
}

/** A resolver for a fixed set of brokers. */
export function knownBrokers(brokers: Iterable<BrokerRef>): BrokerResolver {
  const set = new Set<string>();
  for (const b of brokers) set.add(`${b.namespace}/${b.name}`);
  return (b) => set.has(`${b.namespace}/${b.name}`);
}

/**
 * Builds (does not listen) the broker ingress: `POST /<namespace>/<broker>` in binary, structured and batch
 * modes, answering 202 only after the log made the events durable, plus /healthz, /readyz and /metrics.
 */
export function createIngress(options: IngressOptions): FastifyInstance {
  const registry = options.registry ?? new Registry();
  const app = createServer({
    name: 'broker-ingress',
    logger: options.logger,
    registry,
    bodyLimit: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    ...(options.readiness ? { readiness: options.readiness } : {}),
  });
  app.register(ingressRoutes, { ...options, registry });
  return app;
}

/** Error body of every non-2xx ingress answer. */
export interface IngressErrorBody {
  error: string;
  code: ErrorCode;
  message: string;
  details?: unknown;
}

const ALLOW = 'POST, OPTIONS';
const OTHER_METHODS = ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH'] as const;

interface Params {
  namespace: string;
  broker: string;
}

/** What the ingress' handlers share. */
interface IngressContext {
  log: BrokerLog;
  brokers: BrokerResolver;
  validate: EventValidator;
  auth: ReturnType<typeof createJwtAuth> | undefined;
  metrics: ReturnType<typeof ingressMetrics>;
  /** Bounds the `event_type` label's values. */
  types: LabelLimiter;
  logger: Logger;
  bodyLimit: number;
  maxDepth: number;
  /** Counts `n` requests or events for the broker of `ref` with `status`. */
  count: (ref: Params, type: string, status: number, n?: number) => void;
}

/**
 * The ingress routes as a Fastify plugin (encapsulated: its raw-body parser and error handler do not leak),
 * for servers that host the ingress next to other routes.
 */
export async function ingressRoutes(
  scope: FastifyInstance,
  options: IngressOptions & { registry: Registry },
): Promise<void> {
  const metrics = ingressMetrics(options.registry);
  const ctx: IngressContext = {
    log: options.log,
    brokers: options.brokers,
    validate: options.validate ?? ((event) => validateEvent(event)),
    auth: options.auth ? createJwtAuth(options.auth) : undefined,
    metrics,
    types: new LabelLimiter(),
    logger: options.logger.child({ component: 'ingress' }),
    bodyLimit: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    maxDepth: options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH,
    count: (ref, type, status, n = 1) =>
      metrics.events.inc(
        { namespace: ref.namespace, broker: ref.broker, event_type: type, status_code: String(status) },
        n,
      ),
  };

  // No per-request child logger (Fastify's default binds a reqId to a new pino child, with redaction, for
  // every request): the ingress logs per request only on errors, and ~5% of its CPU went there.
  scope.setChildLoggerFactory((parent) => parent);

  // CloudEvents need the raw bytes of every content type (binary mode data may be anything).
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: ctx.bodyLimit }, (_req, body, done) =>
    done(null, body),
  );

  scope.setErrorHandler(errorHandler(ctx));

  const admit = admitHandler(ctx);
  const publish = publishHandler(ctx);
  const notAllowed = notAllowedHandler(ctx);
  for (const url of ['/:namespace/:broker', '/:namespace/:broker/']) {
    scope.post<{ Params: Params }>(url, { onRequest: admit }, publish);
    scope.options(url, answerOptions);
    scope.route<{ Params: Params }>({
      method: [...OTHER_METHODS],
      url,
      exposeHeadRoute: false,
      handler: notAllowed,
    });
  }
}

/** Sends the {@link IngressErrorBody} of a non-2xx answer. */
function fail(
  reply: FastifyReply,
  status: number,
  code: ErrorCode,
  message: string,
  details?: unknown,
): FastifyReply {
  const body: IngressErrorBody = { error: STATUS_CODES[status] ?? 'Error', code, message };
  if (details !== undefined) body.details = details;
  return reply.status(status).send(body);
}

/** Fastify's own errors (body too large, a bad content length...) and anything thrown, as error bodies. */
function errorHandler(ctx: IngressContext) {
  return (err: Error & { statusCode?: number; code?: string }, req: FastifyRequest, reply: FastifyReply) => {
    const params = (req.params ?? {}) as Partial<Params>;
    const status = err.statusCode ?? 500;
    if (params.namespace && params.broker) ctx.count(params as Params, '', status);
    if (status === 413) {
      return fail(reply, 413, 'PAYLOAD_TOO_LARGE', `request body is larger than ${ctx.bodyLimit} bytes`);
    }
    if (status >= 500) {
      req.log.error({ err }, 'ingress request failed');
      return fail(reply, status, 'INTERNAL', 'internal error');
    }
    return fail(reply, status, errorCodeOf(err, status), err.message);
  };
}

/**
 * Auth and the broker lookup run on request, before the body is read: an unauthenticated client or a
 * wrong URL cannot make the ingress buffer a large body.
 */
function admitHandler({ auth, brokers, count }: IngressContext) {
  return async (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    const params = req.params;
    if (auth) {
      const result = await auth(req.headers.authorization);
      if (!result.ok) {
        count(params, '', result.status);
        if (result.status === 401) {
          void reply.header(
            'www-authenticate',
            `Bearer error="invalid_token", error_description="${result.message.replace(/"/g, "'")}"`,
          );
        }
        return fail(reply, result.status, result.code, result.message);
      }
    }
    if (!(await brokers({ namespace: params.namespace, name: params.broker }))) {
      count(params, '', 404);
      return fail(
        reply,
        404,
        'BROKER_NOT_FOUND',
        `broker ${params.namespace}/${params.broker} does not exist`,
      );
    }
    return undefined;
  };
}

/** `POST /<namespace>/<broker>`: decode, check, append; 202 once the log made the events durable. */
function publishHandler(ctx: IngressContext) {
  return async (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    const params = req.params;
    const events = decodeEvents(ctx, req, reply);
    if (!events) return reply;
    if (rejectInvalidEvents(ctx, params, events, reply)) return reply;
    if (events.length > 0 && !(await appendEvents(ctx, params, events, reply))) return reply;
    for (const e of events) ctx.count(params, ctx.types.label(e.type), 202);
    return reply.status(202).send();
  };
}

/** The request's events (binary, structured or batch mode), or undefined after answering 400. */
function decodeEvents(
  { maxDepth, count }: IngressContext,
  req: FastifyRequest<{ Params: Params }>,
  reply: FastifyReply,
): CloudEvent<unknown>[] | undefined {
  const params = req.params;
  const body = req.body as Buffer | undefined;
  const contentType = req.headers['content-type'];
  if (body && contentType && isJsonContentType(contentType) && jsonTooDeep(body, maxDepth)) {
    count(params, '', 400);
    fail(reply, 400, 'JSON_TOO_DEEP', jsonTooDeepMessage(maxDepth));
    return undefined;
  }
  try {
    return decodeHttp(req.headers, body);
  } catch (err) {
    count(params, '', 400);
    if (err instanceof InvalidCloudEventError) {
      fail(reply, 400, err.code, err.message, { issues: err.issues });
      return undefined;
    }
    const message = err instanceof Error ? err.message : String(err);
    fail(reply, 400, 'CLOUDEVENT_DECODE', message);
    return undefined;
  }
}

/**
 * Catalog schemas and the TTL rule. A batch is all or nothing: one bad event rejects the request (400).
 * Accepted events are stored as received (the Kafka broker's receiver adds nothing; see ttl.ts). True
 * when the request was answered.
 */
function rejectInvalidEvents(
  { validate, count, types }: IngressContext,
  params: Params,
  events: readonly CloudEvent<unknown>[],
  reply: FastifyReply,
): boolean {
  const invalid: { index: number; id: string; type: string; issues: string[] }[] = [];
  const expired: { index: number; id: string; type: string }[] = [];
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    const result = validate(event);
    if (!result.ok) {
      invalid.push({ index: i, id: event.id, type: event.type, issues: result.issues });
      continue;
    }
    if (ttlExpired(event)) expired.push({ index: i, id: event.id, type: event.type });
  }
  if (invalid.length === 0 && expired.length === 0) return false;
  for (const e of events) count(params, types.label(e.type), 400);
  if (invalid.length > 0) {
    const first = invalid[0]!;
    fail(
      reply,
      400,
      'EVENT_SCHEMA',
      `event ${first.id} (${first.type}) does not match its schema: ${first.issues.join('; ')}`,
      { events: invalid },
    );
    return true;
  }
  fail(
    reply,
    400,
    'TTL_EXPIRED',
    'knativebrokerttl reached 0: the event went around the broker too many times (reply loop?)',
    { events: expired },
  );
  return true;
}

/**
 * Appends the events to the broker log; true once they are durable. On failure, answers 503 (retriable,
 * with Retry-After) or the error's status, and returns false.
 */
async function appendEvents(
  { log, metrics, count, types, logger }: IngressContext,
  params: Params,
  events: CloudEvent<unknown>[],
  reply: FastifyReply,
): Promise<boolean> {
  const ref: BrokerRef = { namespace: params.namespace, name: params.broker };
  const started = performance.now();
  try {
    await log.append(ref, events);
    metrics.appendDuration.observe(
      { namespace: ref.namespace, broker: ref.name, backend: log.kind, outcome: 'ok' },
      (performance.now() - started) / 1000,
    );
    return true;
  } catch (err) {
    metrics.appendDuration.observe(
      { namespace: ref.namespace, broker: ref.name, backend: log.kind, outcome: 'error' },
      (performance.now() - started) / 1000,
    );
    const retriable = isRetriable(err);
    const status = err instanceof TributaryError && err.statusCode ? err.statusCode : retriable ? 503 : 500;
    for (const e of events) count(params, types.label(e.type), status);
    logger.warn({ err, broker: `${ref.namespace}/${ref.name}`, events: events.length }, 'append failed');
    if (status === 503) void reply.header('retry-after', '1');
    fail(
      reply,
      status,
      err instanceof TributaryError ? err.code : 'LOG_UNAVAILABLE',
      status === 503
        ? `the broker log cannot take the write now: ${err instanceof Error ? err.message : String(err)}`
        : 'the broker log rejected the write',
    );
    return false;
  }
}

/** Knative's broker ingress answers OPTIONS (CloudEvents webhook validation) with 200 and these headers. */
async function answerOptions(_req: FastifyRequest, reply: FastifyReply) {
  return reply
    .status(200)
    .header('allow', ALLOW)
    .header('webhook-allowed-origin', '*')
    .header('webhook-allowed-rate', '*')
    .send();
}

function notAllowedHandler({ count }: IngressContext) {
  return async (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    count(req.params, '', 405);
    void reply.header('allow', ALLOW);
    return fail(reply, 405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed: use POST`);
  };
}
