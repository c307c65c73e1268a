import { STATUS_CODES } from 'node:http';
import {
  type CloudEvent,
  createServer,
  DEFAULT_MAX_JSON_DEPTH,
  decodeHttp,
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
  code: string;
  message: string;
  details?: unknown;
}

const ALLOW = 'POST, OPTIONS';
const OTHER_METHODS = ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH'] as const;

interface Params {
  namespace: string;
  broker: string;
}

/**
 * The ingress routes as a Fastify plugin (encapsulated: its raw-body parser and error handler do not leak),
 * for servers that host the ingress next to other routes.
 */
export async function ingressRoutes(
  scope: FastifyInstance,
  options: IngressOptions & { registry: Registry },
): Promise<void> {
  const { log, brokers } = options;
  const validate: EventValidator = options.validate ?? ((event) => validateEvent(event));
  const auth = options.auth ? createJwtAuth(options.auth) : undefined;
  const metrics = ingressMetrics(options.registry);
  const types = new LabelLimiter();
  const logger = options.logger.child({ component: 'ingress' });
  const bodyLimit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  // No per-request child logger (Fastify's default binds a reqId to a new pino child, with redaction, for
  // every request): the ingress logs per request only on errors, and ~5% of its CPU went there.
  scope.setChildLoggerFactory((parent) => parent);

  // CloudEvents need the raw bytes of every content type (binary mode data may be anything).
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));

  const count = (ref: Params, type: string, status: number, n = 1) =>
    metrics.events.inc(
      { namespace: ref.namespace, broker: ref.broker, event_type: type, status_code: String(status) },
      n,
    );

  const fail = (
    reply: FastifyReply,
    status: number,
    code: string,
    message: string,
    details?: unknown,
  ): FastifyReply => {
    const body: IngressErrorBody = { error: STATUS_CODES[status] ?? 'Error', code, message };
    if (details !== undefined) body.details = details;
    return reply.status(status).send(body);
  };

  scope.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const params = (req.params ?? {}) as Partial<Params>;
    const status = err.statusCode ?? 500;
    if (params.namespace && params.broker) count(params as Params, '', status);
    if (status === 413) {
      return fail(reply, 413, 'PAYLOAD_TOO_LARGE', `request body is larger than ${bodyLimit} bytes`);
    }
    if (status >= 500) {
      req.log.error({ err }, 'ingress request failed');
      return fail(reply, status, 'INTERNAL', 'internal error');
    }
    return fail(reply, status, err.code ?? 'BAD_REQUEST', err.message);
  });

  // Auth and the broker lookup run on request, before the body is read: an unauthenticated client or a
  // wrong URL cannot make the ingress buffer a large body.
  const admit = async (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
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

  const publish = async (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    const params = req.params;
    const ref: BrokerRef = { namespace: params.namespace, name: params.broker };

    const maxDepth = options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
    const body = req.body as Buffer | undefined;
    const contentType = req.headers['content-type'];
    if (body && contentType && isJsonContentType(contentType) && jsonTooDeep(body, maxDepth)) {
      count(params, '', 400);
      return fail(reply, 400, 'JSON_TOO_DEEP', jsonTooDeepMessage(maxDepth));
    }

    let events: CloudEvent<unknown>[];
    try {
      events = decodeHttp(req.headers, body);
    } catch (err) {
      count(params, '', 400);
      if (err instanceof InvalidCloudEventError) {
        return fail(reply, 400, err.code, err.message, { issues: err.issues });
      }
      const message = err instanceof Error ? err.message : String(err);
      return fail(reply, 400, 'CLOUDEVENT_DECODE', message);
    }

    // Catalog schemas and the TTL rule. A batch is all or nothing: one bad event rejects the request.
    // Accepted events are stored as received (the Kafka broker's receiver adds nothing; see ttl.ts).
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
    if (invalid.length > 0 || expired.length > 0) {
      for (const e of events) count(params, types.label(e.type), 400);
      if (invalid.length > 0) {
        const first = invalid[0]!;
        return fail(
          reply,
          400,
          'EVENT_SCHEMA',
          `event ${first.id} (${first.type}) does not match its schema: ${first.issues.join('; ')}`,
          { events: invalid },
        );
      }
      return fail(
        reply,
        400,
        'TTL_EXPIRED',
        'knativebrokerttl reached 0: the event went around the broker too many times (reply loop?)',
        { events: expired },
      );
    }

    if (events.length > 0) {
      const started = performance.now();
      try {
        await log.append(ref, events);
        metrics.appendDuration.observe(
          { namespace: ref.namespace, broker: ref.name, backend: log.kind, outcome: 'ok' },
          (performance.now() - started) / 1000,
        );
      } catch (err) {
        metrics.appendDuration.observe(
          { namespace: ref.namespace, broker: ref.name, backend: log.kind, outcome: 'error' },
          (performance.now() - started) / 1000,
        );
        const retriable = isRetriable(err);
        const status =
          err instanceof TributaryError && err.statusCode ? err.statusCode : retriable ? 503 : 500;
        for (const e of events) count(params, types.label(e.type), status);
        logger.warn({ err, broker: `${ref.namespace}/${ref.name}`, events: events.length }, 'append failed');
        if (status === 503) void reply.header('retry-after', '1');
        return fail(
          reply,
          status,
          err instanceof TributaryError ? err.code : 'LOG_UNAVAILABLE',
          status === 503
            ? `the broker log cannot take the write now: ${err instanceof Error ? err.message : String(err)}`
            : 'the broker log rejected the write',
        );
      }
    }
    for (const e of events) count(params, types.label(e.type), 202);
    return reply.status(202).send();
  };

  // Knative's broker ingress answers OPTIONS (CloudEvents webhook validation) with 200 and these headers.
  const options_ = async (_req: FastifyRequest, reply: FastifyReply) =>
    reply
      .status(200)
      .header('allow', ALLOW)
      .header('webhook-allowed-origin', '*')
      .header('webhook-allowed-rate', '*')
      .send();

  const notAllowed = async (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    count(req.params, '', 405);
    void reply.header('allow', ALLOW);
    return fail(reply, 405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed: use POST`);
  };

  for (const url of ['/:namespace/:broker', '/:namespace/:broker/']) {
    scope.post<{ Params: Params }>(url, { onRequest: admit }, publish);
    scope.options(url, options_);
    scope.route<{ Params: Params }>({
      method: [...OTHER_METHODS],
      url,
      exposeHeadRoute: false,
      handler: notAllowed,
    });
  }
}
