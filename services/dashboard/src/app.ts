import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import {
  type BrokerLog,
  compileTailFilter,
  type DeadLetterStore,
  deadLetterRoutes,
  type LoadedResources,
  TailFilterError,
  tailEvents,
} from '@tributary/eventing';
import { type CloudEvent, createServer, eventAttributes, type Logger } from '@tributary/shared';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';
import {
  type ClusterView,
  Collector,
  type MetricsSource,
  type PlatformMetrics,
  type Snapshot,
} from './collector.js';

export interface DashboardAppOptions {
  logger: Logger;
  sources: MetricsSource[];
  /** The broker log, for the live tail and for lag straight from Kafka/Postgres. */
  log?: BrokerLog | undefined;
  /** The dead-letter store (its sink endpoint and API are served by the dashboard). */
  deadLetters?: DeadLetterStore | undefined;
  /** Local Broker/Trigger YAML, for Trigger filters. */
  resources?: LoadedResources | undefined;
  cluster?: (() => Promise<ClusterView>) | undefined;
  /** How often the sources are scraped and the browsers updated (default 2000 ms). */
  intervalMs?: number;
  /** safe_wal_size under this warns (default 1 GiB). */
  safeWalWarnBytes?: number | undefined;
  /** Events per second one live-tail stream sends at most; the rest are counted as skipped (default 200). */
  tailMaxRate?: number;
  registry?: Registry;
  /** Where the numbers come from instead of scraping `sources` (e.g. `PrometheusMetrics` on Kubernetes). */
  metrics?: PlatformMetrics | undefined;
}

export interface DashboardApp {
  app: FastifyInstance;
  collector: Collector;
  /** Scrapes now and pushes the result to every browser. */
  refresh(): Promise<Snapshot>;
}

const PUBLIC_DIR = new URL('../public/', import.meta.url);
const STATIC: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

interface SseClient {
  raw: ServerResponse;
  close(): void;
}

/** Opens a Server-Sent Events stream on `reply` (Fastify hands the raw response over). */
function openSse(reply: FastifyReply, clients: Set<SseClient>): SseClient {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  raw.write('retry: 2000\n\n');
  const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
  const client: SseClient = {
    raw,
    close() {
      clearInterval(heartbeat);
      clients.delete(client);
      if (!raw.writableEnded) raw.end();
    },
  };
  raw.on('close', () => client.close());
  clients.add(client);
  return client;
}

function send(client: SseClient, event: string, data: unknown): boolean {
  return client.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** A CloudEvent as JSON for the browser: attributes, and data (binary data as base64). */
export function eventJson(e: CloudEvent<unknown>): {
  attributes: Record<string, unknown>;
  data: unknown;
  dataBase64?: string;
} {
  const attributes = eventAttributes(e);
  delete attributes.data_base64;
  const data = e.data;
  if (data instanceof Uint8Array) {
    return {
      attributes,
      data: null,
      dataBase64: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
    };
  }
  return { attributes, data: data ?? null };
}

/**
 * Builds (does not listen) the dashboard: the static page, `/api/snapshot`, `/api/stream` (snapshots over
 * SSE), `/api/tail` (the live tail over SSE), `/api/cesql` (filter check), the dead-letter sink and API, and
 * /healthz, /readyz, /metrics.
 */
export function buildDashboardApp(opts: DashboardAppOptions): DashboardApp {
  const logger = opts.logger;
  const app = createServer({
    name: 'dashboard',
    logger,
    ...(opts.registry ? { registry: opts.registry } : {}),
  });
  const collector = new Collector({
    sources: opts.sources,
    logger: logger.child({ component: 'collector' }),
    resources: opts.resources,
    log: opts.log,
    deadLetters: opts.deadLetters,
    cluster: opts.cluster,
    metrics: opts.metrics,
    ...(opts.safeWalWarnBytes !== undefined ? { safeWalWarnBytes: opts.safeWalWarnBytes } : {}),
  });
  const streams = new Set<SseClient>();
  const tails = new Set<SseClient>();
  let latest: Snapshot | undefined;
  let running: Promise<Snapshot> | undefined;

  const refresh = (): Promise<Snapshot> => {
    running ??= collector
      .tick()
      .then((s) => {
        latest = s;
        for (const c of streams) send(c, 'snapshot', s);
        return s;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  const interval = opts.intervalMs ?? 2000;
  let timer: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    timer = setInterval(() => {
      refresh().catch((err: unknown) => logger.warn({ err }, 'dashboard refresh failed'));
    }, interval);
    timer.unref();
    void refresh().catch(() => {});
  });
  app.addHook('preClose', async () => {
    if (timer) clearInterval(timer);
    for (const c of [...streams, ...tails]) c.close();
  });

  for (const [file, type] of Object.entries(STATIC)) {
    const path = file === 'index.html' ? '/' : `/${file}`;
    app.get(path, async (_req, reply) => {
      const body = await readFile(new URL(file, PUBLIC_DIR));
      return reply.header('content-type', type).header('cache-control', 'no-cache').send(body);
    });
  }

  app.get('/api/snapshot', async () => latest ?? (await refresh()));
  app.get('/api/stream', async (_req, reply) => {
    const client = openSse(reply, streams);
    if (latest) send(client, 'snapshot', latest);
  });

  app.get<{ Querystring: { filter?: string } }>('/api/cesql', async (req, reply) => {
    try {
      compileTailFilter(req.query.filter);
      return { ok: true };
    } catch (err) {
      if (err instanceof TailFilterError) {
        return reply
          .status(400)
          .send({ ok: false, message: err.message.split('\n')[0], excerpt: err.excerpt });
      }
      throw err;
    }
  });

  app.get<{ Querystring: { namespace?: string; broker?: string; filter?: string; from?: string } }>(
    '/api/tail',
    async (req, reply) => {
      const log = opts.log;
      if (!log) {
        return reply
          .status(503)
          .send({ error: 'Service Unavailable', code: 'NO_LOG', message: 'no broker log configured' });
      }
      const { namespace, broker } = req.query;
      if (!namespace || !broker) {
        return reply.status(400).send({
          error: 'Bad Request',
          code: 'BROKER_REQUIRED',
          message: 'namespace and broker are required',
        });
      }
      try {
        compileTailFilter(req.query.filter);
      } catch (err) {
        if (err instanceof TailFilterError) {
          return reply
            .status(400)
            .send({ error: 'Bad Request', code: err.code, message: err.message, excerpt: err.excerpt });
        }
        throw err;
      }
      const ac = new AbortController();
      const it = await tailEvents({
        log,
        broker: { namespace, name: broker },
        filter: req.query.filter,
        from: req.query.from === 'earliest' ? 'earliest' : 'latest',
        signal: ac.signal,
      });
      const client = openSse(reply, tails);
      client.raw.on('close', () => ac.abort());
      send(client, 'ready', { namespace, broker, filter: req.query.filter ?? '' });
      const maxRate = opts.tailMaxRate ?? 200;
      let windowStart = Date.now();
      let sent = 0;
      let skipped = 0;
      void (async () => {
        try {
          for await (const e of it) {
            const now = Date.now();
            if (now - windowStart >= 1000) {
              if (skipped > 0) send(client, 'skipped', { count: skipped });
              windowStart = now;
              sent = 0;
              skipped = 0;
            }
            if (sent >= maxRate) {
              skipped++;
              continue;
            }
            sent++;
            send(client, 'cloudevent', eventJson(e));
          }
        } catch (err) {
          logger.warn({ err }, 'live tail failed');
          if (!client.raw.writableEnded) send(client, 'tail-error', { message: String(err) });
        } finally {
          client.close();
        }
      })();
    },
  );

  if (opts.deadLetters) app.register(deadLetterRoutes, { store: opts.deadLetters });
  else {
    app.get('/api/dead-letters', async (_req, reply) =>
      reply
        .status(503)
        .send({ error: 'Service Unavailable', code: 'NO_DEAD_LETTER_STORE', message: 'no DATABASE_URL' }),
    );
  }

  return { app, collector, refresh };
}
