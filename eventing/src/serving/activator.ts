import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, TributaryError } from '@tributary/shared';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { UnresolvableDestinationError } from '../resources/resolver.js';
import { createServingMetrics, FunctionPool, type RuntimeCommand } from './function-pool.js';
import { loadServiceSpec, type ServiceSpec } from './service-spec.js';
import { StemCells } from './stem-cells.js';

/** A `subscriber.ref` as Knative Triggers write it. */
export interface ServiceRef {
  apiVersion?: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface LocalServingOptions {
  services: ServiceSpec[];
  runtime: RuntimeCommand;
  logger: Logger;
  registry?: Registry;
  /** How long a starting instance may take before its held requests fail with 503 (default 60 s). */
  startTimeoutMs?: number;
  /**
   * Prewarmed function-less runtime processes kept ready for cold starts (default 1; 0 = every cold
   * start spawns Node.js from scratch). See StemCells.
   */
  prewarm?: number;
}

export interface LocalServing {
  /** The activator's HTTP server (not listening yet): `POST /<namespace>/<service>`. */
  app: FastifyInstance;
  pools: Map<string, FunctionPool>;
  /** Prewarmed runtime processes, when enabled. */
  stemCells: StemCells | undefined;
  /** Starts min-scale instances. Call after the app listens. */
  start(baseUrl: string): Promise<void>;
  /** Resolves a Trigger's `subscriber.ref` to the activator URL of that Knative Service. */
  resolve(ref: ServiceRef, defaultNamespace: string): string;
  /** Closes the activator server (if listening), then stops every instance and spare. */
  close(): Promise<void>;
}

/** Finds `<root>/<name>/service.yaml` for every function folder under root (e.g. services/functions). */
export function discoverServices(root: string): ServiceSpec[] {
  if (!existsSync(root)) return [];
  const specs: ServiceSpec[] = [];
  for (const name of readdirSync(root).sort()) {
    const file = join(root, name, 'service.yaml');
    if (existsSync(file)) specs.push(loadServiceSpec(file));
  }
  return specs;
}

/**
 * Knative Serving on one machine: an activator that routes `POST /<namespace>/<service>` to the
 * service's FunctionPool, which starts processes on demand and scales them to zero when idle.
 */
export function createLocalServing(opts: LocalServingOptions): LocalServing {
  const app = createServer({
    name: 'activator',
    logger: opts.logger,
    registry: opts.registry,
    bodyLimit: 10 * 1024 * 1024,
  });
  const metrics = createServingMetrics(app.metrics);
  const pools = new Map<string, FunctionPool>();
  const prewarm = opts.prewarm ?? 1;
  const stemCells =
    prewarm > 0 && opts.services.length > 0
      ? new StemCells(opts.runtime, opts.logger.child({ component: 'serving' }), prewarm)
      : undefined;
  for (const spec of opts.services) {
    const key = `${spec.namespace}/${spec.name}`;
    if (pools.has(key))
      throw new TributaryError(`two Knative Services named ${key}`, { code: 'RESOURCES_INVALID' });
    pools.set(
      key,
      new FunctionPool(
        spec,
        opts.runtime,
        opts.logger.child({ component: 'serving' }),
        metrics,
        opts.startTimeoutMs,
        stemCells,
      ),
    );
  }
  let base: string | undefined;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.post<{ Params: { namespace: string; name: string } }>('/:namespace/:name', async (req, reply) => {
    const pool = pools.get(`${req.params.namespace}/${req.params.name}`);
    if (!pool) {
      return reply.status(404).send({
        error: 'Not Found',
        code: 'UNKNOWN_SERVICE',
        message: `no Knative Service ${req.params.namespace}/${req.params.name}`,
      });
    }
    const res = await pool.forward({
      method: 'POST',
      headers: req.headers,
      body: (req.body as Buffer) ?? Buffer.alloc(0),
    });
    for (const [k, v] of Object.entries(res.headers)) {
      if (v !== undefined && !['connection', 'keep-alive', 'transfer-encoding', 'content-length'].includes(k))
        reply.header(k, v);
    }
    return reply.status(res.status).send(res.body);
  });
  app.get('/services', async () =>
    [...pools.values()].map((p) => ({
      namespace: p.spec.namespace,
      name: p.spec.name,
      scale: p.scale,
      inFlight: p.inFlight,
      minScale: p.spec.minScale,
      maxScale: p.spec.maxScale,
      target: p.spec.target,
      idleMs: p.spec.idleMs,
    })),
  );

  return {
    app,
    pools,
    stemCells,
    async start(baseUrl: string) {
      base = baseUrl.replace(/\/$/, '');
      stemCells?.fill();
      await Promise.all([...pools.values()].map((p) => p.start()));
    },
    resolve(ref: ServiceRef, defaultNamespace: string) {
      if (ref.kind !== 'Service' || (ref.apiVersion && !ref.apiVersion.startsWith('serving.knative.dev/'))) {
        throw new UnresolvableDestinationError(
          `subscriber.ref ${ref.apiVersion ?? ''} ${ref.kind}/${ref.name}: only Knative Services (serving.knative.dev/v1) run locally`,
        );
      }
      const ns = ref.namespace ?? defaultNamespace;
      if (!pools.has(`${ns}/${ref.name}`)) {
        const known = [...pools.keys()].join(', ') || 'none';
        throw new UnresolvableDestinationError(
          `subscriber.ref Service ${ns}/${ref.name} not found (known services: ${known})`,
        );
      }
      if (!base) throw new TributaryError('local serving is not started yet', { code: 'NOT_READY' });
      return `${base}/${ns}/${ref.name}`;
    },
    async close() {
      await app.close();
      await Promise.all([...pools.values()].map((p) => p.close()));
      await stemCells?.close();
    },
  };
}
