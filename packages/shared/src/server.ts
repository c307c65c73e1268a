import { type ErrorCode, isErrorCode, TributaryError } from '@tributary/client';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { DEFAULT_MAX_JSON_DEPTH, jsonTooDeep, jsonTooDeepMessage } from './json-depth.js';
import type { Lifecycle } from './lifecycle.js';
import { SERVER_METRICS } from './metric-vocabulary.js';

/**
 * Time limits of every server, against slow clients (slowloris: connections that dribble their headers or
 * body a byte at a time to hold a socket and a parser each). Node checks them every second here.
 */
export interface HttpLimits {
  /** Time to receive the request line and headers (Node's `headersTimeout`). Default 10 s. */
  headersTimeoutMs: number;
  /**
   * Time to receive the whole request, headers and body (Node's `requestTimeout`); answered 408 and closed
   * after it. Default 30 s: a 1 MiB body needs only 35 KB/s. Responses (an SSE stream) are not limited.
   */
  requestTimeoutMs: number;
  /** How long a kept-alive connection may sit idle between requests. Default 5 s (Node's default). */
  keepAliveTimeoutMs: number;
}

export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
});

let processLimits: HttpLimits = { ...DEFAULT_HTTP_LIMITS };

/**
 * Sets the limits of every server this process creates afterwards (a service's `src/index.ts` does it from
 * HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS and HTTP_KEEP_ALIVE_TIMEOUT_MS through `loadServiceEnv`).
 */
export function setDefaultHttpLimits(limits: Partial<HttpLimits>): void {
  processLimits = { ...processLimits, ...limits };
}

/** The limits new servers get (`setDefaultHttpLimits` over {@link DEFAULT_HTTP_LIMITS}). */
export function defaultHttpLimits(): HttpLimits {
  return { ...processLimits };
}

/**
 * A Postgres error about a value the client sent: a data exception (SQLSTATE class 22, e.g. 22003 out of
 * range, 22021 bad encoding, 22P02) or a value too large for an index (54000, program_limit_exceeded).
 */
function isPostgresDataError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; severity?: unknown };
  return (
    typeof e.code === 'string' &&
    typeof e.severity === 'string' &&
    (/^22[0-9A-Z]{3}$/.test(e.code) || e.code === '54000')
  );
}

/** Fastify's own codes for failures the catalogue names (same failure, same code: docs/ERRORS.md). */
const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
};

/**
 * The catalogue code an error is answered with: its own when it is one, Fastify's mapped, else `BAD_REQUEST`
 * (4xx) or `INTERNAL` (5xx). Never a driver's code (a Postgres SQLSTATE, ECONNREFUSED).
 */
export function errorCodeOf(err: { code?: unknown }, status: number): ErrorCode {
  if (isErrorCode(err.code)) return err.code;
  const mapped = typeof err.code === 'string' ? FASTIFY_CODES[err.code] : undefined;
  return mapped ?? (status >= 500 ? 'INTERNAL' : 'BAD_REQUEST');
}

export interface CreateServerOptions {
  /** Service name, used as a metrics label prefix-free `service` default label. */
  name: string;
  logger: Logger;
  /** Registry the service's own metrics live in; one is created when omitted. */
  registry?: Registry;
  /** `/readyz` answers 200 only while this returns true (e.g. "replication connected"). */
  readiness?: () => boolean | Promise<boolean>;
  /** Largest accepted request body in bytes (default 1 MiB, the broker's limit). */
  bodyLimit?: number;
  /** Time limits (default: {@link defaultHttpLimits}). */
  limits?: Partial<HttpLimits>;
  /** Deepest JSON body the `application/json` parser accepts (default {@link DEFAULT_MAX_JSON_DEPTH}). */
  maxJsonDepth?: number;
  fastify?: Pick<
    FastifyServerOptions,
    'trustProxy' | 'connectionTimeout' | 'keepAliveTimeout' | 'requestTimeout'
  >;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The prom-client registry served at /metrics. */
    metrics: Registry;
  }
}

const defaultMetricsRegistries = new WeakSet<Registry>();

/**
 * Builds (does not listen) a Fastify server with `/healthz`, `/readyz`, `/metrics` (prom-client default
 * metrics plus `http_request_duration_seconds` per route) and the shared error handler. While closing,
 * Fastify answers new requests with 503 and lets in-flight ones finish.
 */
export function createServer(opts: CreateServerOptions): FastifyInstance {
  const registry = serverRegistry(opts);
  const app = createFastify(opts);
  app.decorate('metrics', registry);
  refuseNulInUrl(app);
  limitJsonDepth(app, opts.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH);
  timeRequests(app, registry);
  app.setErrorHandler(answerError);
  serveProbes(app, registry, opts.readiness);
  return app;
}

/** The registry served at /metrics, with the default metrics labelled by service (once per registry). */
function serverRegistry(opts: CreateServerOptions): Registry {
  const registry = opts.registry ?? new Registry();
  if (!defaultMetricsRegistries.has(registry)) {
    registry.setDefaultLabels({ [SERVER_METRICS.defaultLabel]: opts.name });
    collectDefaultMetrics({ register: registry });
    defaultMetricsRegistries.add(registry);
  }
  return registry;
}

/** Fastify with the body limit, the time limits against slow clients and a 503 for requests while closing. */
function createFastify(opts: CreateServerOptions): FastifyInstance {
  const limits = { ...processLimits, ...opts.limits };
  // Node refuses a headers timeout longer than the request timeout.
  const headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  const app: FastifyInstance = Fastify({
    loggerInstance: opts.logger.child({ component: 'http' }) as FastifyBaseLogger,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // How often Node looks for requests over their headers/request timeout (its default, 30 s, would let a
    // slow client hold a socket up to 30 s past the limit).
    http: { connectionsCheckingInterval: Math.max(100, Math.min(1000, headersTimeout / 2)) },
    ...opts.fastify,
  });
  app.server.headersTimeout = headersTimeout;
  return app;
}

/**
 * A NUL byte is never part of a valid path or query value here, and Postgres cannot store one in text:
 * refuse it at the door rather than let it reach a query (SQLSTATE 22021, formerly a 500).
 */
function refuseNulInUrl(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    if (req.url.includes('%00') || req.url.includes('\0')) {
      return reply.status(400).send({
        error: 'Bad Request',
        code: 'NUL_IN_URL',
        message: 'the URL contains a NUL byte (%00)',
      });
    }
  });
}

/** application/json bodies: Fastify's parser (prototype poisoning refused) behind a nesting-depth limit. */
function limitJsonDepth(app: FastifyInstance, maxJsonDepth: number): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (jsonTooDeep(body as string, maxJsonDepth)) {
      const err = new Error(jsonTooDeepMessage(maxJsonDepth)) as Error & { statusCode: number; code: string };
      err.statusCode = 400;
      err.code = 'JSON_TOO_DEEP';
      done(err, undefined);
      return;
    }
    parseJson(req, body as string, done);
  });
}

/** `http_request_duration_seconds` per method, route and status (not for /metrics itself). */
function timeRequests(app: FastifyInstance, registry: Registry): void {
  const latency = new Histogram({
    name: SERVER_METRICS.httpRequestDuration.name,
    help: 'HTTP request latency by method, route and status code',
    labelNames: SERVER_METRICS.httpRequestDuration.labels,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    if (route === '/metrics') return;
    latency.observe(
      { method: req.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
}

/**
 * The shared error handler: a Postgres data error is the client's (400 INVALID_INPUT); otherwise the error's
 * status (500 by default), and only our own codes and messages leave the process.
 */
function answerError(
  err: Error & { statusCode?: number; validation?: unknown; code?: string },
  req: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  if (isPostgresDataError(err)) {
    // A value Postgres cannot take (out of range, bad encoding): the client's input, not a fault. The
    // SQLSTATE stays in the log, never in the answer.
    req.log.debug({ err: err.message, sqlstate: err.code }, 'request rejected by Postgres');
    return reply.status(400).send({
      error: 'Bad Request',
      code: 'INVALID_INPUT',
      message: 'a value in the request is out of range, too large, or holds characters that cannot be stored',
    });
  }
  const status = err instanceof TributaryError && err.statusCode ? err.statusCode : (err.statusCode ?? 500);
  if (status >= 500) req.log.error({ err }, 'request failed');
  else req.log.debug({ err: err.message, code: err.code }, 'request rejected');
  const internal = status >= 500 && !(err instanceof TributaryError);
  return reply.status(status).send({
    error: status >= 500 ? 'Internal Server Error' : err.name === 'Error' ? 'Bad Request' : err.name,
    // Only our own codes leave the process: never a driver's (a Postgres SQLSTATE, ECONNREFUSED).
    code: internal ? 'INTERNAL' : errorCodeOf(err, status),
    message: internal ? 'internal error' : err.message,
  });
}

/** `/healthz`, `/readyz` (200 only while `readiness` says so) and `/metrics`. */
function serveProbes(
  app: FastifyInstance,
  registry: Registry,
  readiness: CreateServerOptions['readiness'],
): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const ready = readiness ? await readiness() : true;
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready' });
  });
  app.get('/metrics', async (_req, reply) => {
    return reply.header('content-type', registry.contentType).send(await registry.metrics());
  });
}

/**
 * Listens and registers the server with the lifecycle, so a shutdown first stops taking requests and
 * drains in-flight ones, then closes resources registered before it in reverse order.
 */
export async function listen(
  app: FastifyInstance,
  opts: { port: number; host?: string; lifecycle: Lifecycle },
): Promise<string> {
  const address = await app.listen({ port: opts.port, host: opts.host ?? '0.0.0.0' });
  opts.lifecycle.add('http-server', () => app.close());
  return address;
}
