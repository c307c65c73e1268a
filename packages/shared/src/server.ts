import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { TributaryError } from './errors.js';
import type { Lifecycle } from './lifecycle.js';

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
  const registry = opts.registry ?? new Registry();
  if (!defaultMetricsRegistries.has(registry)) {
    registry.setDefaultLabels({ service: opts.name });
    collectDefaultMetrics({ register: registry });
    defaultMetricsRegistries.add(registry);
  }
  const app: FastifyInstance = Fastify({
    loggerInstance: opts.logger.child({ component: 'http' }) as FastifyBaseLogger,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ...opts.fastify,
  });
  app.decorate('metrics', registry);

  const latency = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
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

  app.setErrorHandler(
    (err: Error & { statusCode?: number; validation?: unknown; code?: string }, req, reply) => {
      const status =
        err instanceof TributaryError && err.statusCode ? err.statusCode : (err.statusCode ?? 500);
      if (status >= 500) req.log.error({ err }, 'request failed');
      else req.log.debug({ err: err.message, code: err.code }, 'request rejected');
      void reply.status(status).send({
        error: status >= 500 ? 'Internal Server Error' : err.name === 'Error' ? 'Bad Request' : err.name,
        code: err.code ?? (status >= 500 ? 'INTERNAL' : 'BAD_REQUEST'),
        message: status >= 500 && !(err instanceof TributaryError) ? 'internal error' : err.message,
      });
    },
  );

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const ready = opts.readiness ? await opts.readiness() : true;
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready' });
  });
  app.get('/metrics', async (_req, reply) => {
    return reply.header('content-type', registry.contentType).send(await registry.metrics());
  });
  return app;
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
