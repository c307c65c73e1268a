import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import {
  type BrokerLog,
  compileTailFilter,
  createSinkAuth,
  type DeadLetterStore,
  deadLetterRoutes,
  type LoadedResources,
  TailFilterError,
  tailEvents,
  UnknownBrokerError,
} from '@tributary/eventing';
import { type CloudEvent, catalog, createServer, eventAttributes, type Logger } from '@tributary/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { AuditLog, auditedAction, redactDeadLetter } from './audit.js';
import { checkCrossSite, createOperatorAuth, type DashboardAuthOptions, type Operator } from './auth.js';
import { type BackfillSource, registerBackfillRoutes } from './backfills.js';
import {
  type ClusterView,
  Collector,
  type MetricsSource,
  type PlatformMetrics,
  type Snapshot,
} from './collector.js';
import { registerReplayRoutes } from './replay.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in operator (set by the dashboard's auth hook on every /api call). */
    operator?: Operator;
  }
}

export interface DashboardAppOptions {
  logger: Logger;
  /** Who may use it (docs/SECURITY.md): operator tokens/sessions, or loopback under `tributary dev`. */
  auth: DashboardAuthOptions;
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
  /** db-events' table backfills (backfills.ts): listed, and cancelled by operators. */
  backfills?: BackfillSource | undefined;
}

export interface DashboardApp {
  app: FastifyInstance;
  collector: Collector;
  /** Scrapes now and pushes the result to every browser. */
  refresh(): Promise<Snapshot>;
}

const PUBLIC_DIR = new URL('../public/', import.meta.url);
/**
 * Routes anyone may call: the page shell (it holds no data), health, metrics, the sign-in endpoint, and the
 * dead-letter sink (which checks dispatcher tokens itself).
 */
const PUBLIC_ROUTES = new Set([
  '/',
  '/app.js',
  '/style.css',
  '/healthz',
  '/readyz',
  '/metrics',
  '/api/session',
  '/dead-letters/:namespace/:broker',
]);
const STATIC: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

/**
 * The page script (src/ui, TypeScript): built by `build-ui.mjs` into dist/ui/app.js next to the built server;
 * when the server runs from its TypeScript sources (tests, `tributary dev` from a clone) it is bundled in
 * memory from src/ui, once per process, so that no build step is needed and it is never stale.
 */
let uiScript: Promise<string> | undefined;
function pageScript(): Promise<string> {
  uiScript ??= (async () => {
    if (import.meta.url.endsWith('.ts')) {
      const builder = new URL('../build-ui.mjs', import.meta.url).href;
      const { bundleUi } = (await import(builder)) as { bundleUi: () => Promise<string> };
      return bundleUi();
    }
    try {
      return await readFile(new URL('./ui/app.js', import.meta.url), 'utf8');
    } catch (err) {
      throw new Error(
        `the dashboard's page script is not built (${err instanceof Error ? err.message : String(err)}): run \`pnpm --filter @tributary/dashboard build\``,
      );
    }
  })();
  uiScript.catch(() => {
    uiScript = undefined;
  });
  return uiScript;
}

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

/**
 * A CloudEvent as JSON for the browser: attributes, and data (binary data as base64). Fields the catalog
 * marks secret are replaced by `[redacted]` (and counted in `redacted`) unless `reveal` is set.
 */
export function eventJson(
  e: CloudEvent<unknown>,
  reveal = false,
): {
  attributes: Record<string, unknown>;
  data: unknown;
  dataBase64?: string;
  redacted?: number;
} {
  const attributes = eventAttributes(e);
  delete attributes.data_base64;
  let data = e.data;
  if (!reveal && !(data instanceof Uint8Array)) {
    const r = catalog.redact(e.type, data);
    if (r.redacted > 0) return { attributes, data: r.data, redacted: r.redacted };
    data = r.data;
  }
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
  const auth = createOperatorAuth(opts.auth);
  const audit = new AuditLog(logger);

  // Every call but the page's static files, health, metrics and sign-in needs an operator; the dead-letter
  // sink has its own (dispatcher) authentication. State-changing calls must also come from this origin.
  app.addHook('onRequest', async (req, reply) => {
    // By matched route, not by raw path: an encoded or dotted variant of a public path matches no public
    // route, so it needs an operator like everything else (unknown paths included).
    const route = req.routeOptions.url;
    if (route !== undefined && PUBLIC_ROUTES.has(route)) return;
    const r = await auth.authenticate({ headers: req.headers, remoteAddress: req.socket.remoteAddress });
    if (!r.ok) {
      void reply.header('www-authenticate', 'Bearer realm="tributary-dashboard"');
      return reply.status(401).send({ error: 'Unauthorized', code: 'UNAUTHORIZED', message: r.message });
    }
    req.operator = r.operator;
    const refused = checkCrossSite(req);
    if (refused) {
      req.log.warn({ actor: r.operator.actor, origin: req.headers.origin, code: refused.code }, 'refused');
      return reply
        .status(refused.status)
        .send({ error: refused.status === 403 ? 'Forbidden' : 'Unsupported Media Type', ...refused });
    }
  });

  // Delete and redrive are audit-logged with who and what; dead-letter bodies are redacted like the tail.
  app.addHook('onSend', async (req, reply, payload) => {
    const route = req.routeOptions.url;
    const action = auditedAction(req.method, route);
    if (action) audit.record(action, req, reply.statusCode, payload);
    if (req.method === 'GET' && route === '/api/dead-letters/:id' && reply.statusCode === 200) {
      const reveal = (req.query as { reveal?: string }).reveal === 'secrets';
      if (reveal) audit.record('dead-letters.reveal-secrets', req, reply.statusCode, undefined);
      else if (typeof payload === 'string') return redactDeadLetter(payload);
    }
    return payload;
  });

  app.get('/api/session', async (req, reply) => {
    const r = await auth.authenticate({ headers: req.headers, remoteAddress: req.socket.remoteAddress });
    if (!r.ok)
      return reply.status(401).send({ error: 'Unauthorized', code: 'UNAUTHORIZED', message: r.message });
    return { actor: r.operator.actor, via: r.operator.via, mode: auth.mode };
  });
  app.post<{ Body: { token?: unknown } | undefined }>('/api/session', async (req, reply) => {
    const refused = checkCrossSite(req);
    if (refused) return reply.status(refused.status).send({ error: 'Forbidden', ...refused });
    const token = req.body?.token;
    if (typeof token !== 'string' || token === '') {
      return reply.status(400).send({
        error: 'Bad Request',
        code: 'TOKEN_REQUIRED',
        message: 'body must be {"token": "<operator JWT>"}',
      });
    }
    const r = await auth.signIn(token);
    if (!r.ok) {
      req.log.warn({ ip: req.ip }, 'dashboard sign-in refused');
      return reply.status(401).send({ error: 'Unauthorized', code: 'UNAUTHORIZED', message: r.message });
    }
    audit.record('session.sign-in', Object.assign(req, { operator: r.operator }), 200, undefined);
    return reply
      .header('set-cookie', auth.sessionCookie(r.session, req.protocol === 'https'))
      .send({ actor: r.operator.actor });
  });
  app.delete('/api/session', async (req, reply) => {
    const refused = checkCrossSite(req);
    if (refused) return reply.status(refused.status).send({ error: 'Forbidden', ...refused });
    return reply
      .header('set-cookie', auth.sessionCookie(undefined, req.protocol === 'https'))
      .status(204)
      .send();
  });
  app.get('/api/audit', async () => ({ entries: audit.entries() }));
  registerReplayRoutes(app, { log: opts.log, resources: opts.resources, logger });
  registerBackfillRoutes(app, opts.backfills);
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

  app.get('/app.js', async (_req, reply) =>
    reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(await pageScript()),
  );
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

  app.get<{
    Querystring: { namespace?: string; broker?: string; filter?: string; from?: string; reveal?: string };
  }>('/api/tail', async (req, reply) => {
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
    const { reveal } = req.query;
    if (reveal !== undefined && reveal !== 'secrets') {
      return reply.status(400).send({
        error: 'Bad Request',
        code: 'INVALID_REVEAL',
        message: 'reveal takes one value: "secrets" (show the fields the catalog marks secret)',
      });
    }
    const ac = new AbortController();
    let it: AsyncIterableIterator<CloudEvent<unknown>>;
    try {
      it = await tailEvents({
        log,
        broker: { namespace, name: broker },
        filter: req.query.filter,
        from: req.query.from === 'earliest' ? 'earliest' : 'latest',
        signal: ac.signal,
      });
    } catch (err) {
      if (err instanceof UnknownBrokerError) {
        return reply.status(404).send({ error: 'Not Found', code: err.code, message: err.message });
      }
      throw err;
    }
    // Secrets are shown only when asked for, and the asking is audit-logged.
    if (reveal) audit.record('tail.reveal-secrets', req as FastifyRequest, 200, undefined);
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
          send(client, 'cloudevent', eventJson(e, reveal === 'secrets'));
        }
      } catch (err) {
        logger.warn({ err }, 'live tail failed');
        if (!client.raw.writableEnded) send(client, 'tail-error', { message: String(err) });
      } finally {
        client.close();
      }
    })();
  });

  if (opts.deadLetters) {
    const secret = opts.auth.jwtSecret;
    app.register(deadLetterRoutes, {
      store: opts.deadLetters,
      // Only dispatchers (tokens minted from the platform JWT secret) may add dead letters.
      sinkAuth: secret
        ? createSinkAuth(secret)
        : async () => ({
            ok: false as const,
            status: 401 as const,
            code: 'UNAUTHORIZED',
            message:
              'the dead-letter sink is closed: no platform JWT secret is configured to check dispatchers',
          }),
    });
  } else {
    app.get('/api/dead-letters', async (_req, reply) =>
      reply
        .status(503)
        .send({ error: 'Service Unavailable', code: 'NO_DEAD_LETTER_STORE', message: 'no DATABASE_URL' }),
    );
  }

  return { app, collector, refresh };
}
