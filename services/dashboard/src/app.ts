import { readFile } from 'node:fs/promises';
import {
  type BrokerLog,
  createSinkAuth,
  type DeadLetterStore,
  deadLetterRoutes,
  type LoadedResources,
} from '@tributary/eventing';
import { createServer, type Logger, TributaryError } from '@tributary/shared';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { AuditLog } from './audit.js';
import { createOperatorAuth, type DashboardAuthOptions, type Operator } from './auth.js';
import { type BackfillSource, registerBackfillRoutes } from './backfills.js';
import {
  type ClusterView,
  Collector,
  type MetricsSource,
  type PlatformMetrics,
  type Snapshot,
} from './collector.js';
import { registerReplayRoutes } from './replay.js';
import { auditActions, registerSessionRoutes, requireOperator } from './session-routes.js';
import { openSse, type SseClient, send } from './sse.js';
import { registerTailRoutes } from './tail-routes.js';

export { eventJson } from './tail-routes.js';

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
      // The reason is a code (ENOENT), not the message: the answer must not show the install path.
      const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new TributaryError(
        `the dashboard's page script is not built (${reason}): run \`pnpm --filter @tributary/dashboard build\``,
        { code: 'CLI_PACKAGE_NOT_BUILT', cause: err },
      );
    }
  })();
  uiScript.catch(() => {
    uiScript = undefined;
  });
  return uiScript;
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
  requireOperator(app, auth);
  auditActions(app, audit);
  registerSessionRoutes(app, auth, audit);
  registerReplayRoutes(app, { log: opts.log, resources: opts.resources, logger });
  registerBackfillRoutes(app, opts.backfills);
  const collector = createCollector(opts);
  const streams = new Set<SseClient>();
  const tails = new Set<SseClient>();
  const feed = snapshotFeed(collector, streams);
  refreshPeriodically(app, feed, { intervalMs: opts.intervalMs ?? 2000, logger, clients: [streams, tails] });
  registerPageRoutes(app);
  registerSnapshotRoutes(app, feed, streams);
  registerTailRoutes(app, { log: opts.log, audit, logger, tails, maxRate: opts.tailMaxRate ?? 200 });
  registerDeadLetters(app, opts);
  return { app, collector, refresh: feed.refresh };
}

function createCollector(opts: DashboardAppOptions): Collector {
  return new Collector({
    sources: opts.sources,
    logger: opts.logger.child({ component: 'collector' }),
    resources: opts.resources,
    log: opts.log,
    deadLetters: opts.deadLetters,
    cluster: opts.cluster,
    metrics: opts.metrics,
    ...(opts.safeWalWarnBytes !== undefined ? { safeWalWarnBytes: opts.safeWalWarnBytes } : {}),
  });
}

/** The latest snapshot, and a refresh that scrapes once at a time and pushes the result to every stream. */
interface SnapshotFeed {
  latest(): Snapshot | undefined;
  refresh(): Promise<Snapshot>;
}

function snapshotFeed(collector: Collector, streams: Set<SseClient>): SnapshotFeed {
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
  return { latest: () => latest, refresh };
}

/** Refreshes every `intervalMs` once the server is ready; on close stops and closes every SSE stream. */
function refreshPeriodically(
  app: FastifyInstance,
  feed: SnapshotFeed,
  {
    intervalMs: interval,
    logger,
    clients,
  }: { intervalMs: number; logger: Logger; clients: Set<SseClient>[] },
): void {
  const refresh = feed.refresh;
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
    for (const c of clients.flatMap((set) => [...set])) c.close();
  });
}

/** The page: its shell, stylesheet and script. */
function registerPageRoutes(app: FastifyInstance): void {
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
}

/** `/api/snapshot` (the latest, or a fresh one) and `/api/stream` (snapshots over SSE). */
function registerSnapshotRoutes(app: FastifyInstance, feed: SnapshotFeed, streams: Set<SseClient>): void {
  app.get('/api/snapshot', async () => feed.latest() ?? (await feed.refresh()));
  app.get('/api/stream', async (_req, reply) => {
    const client = openSse(reply, streams);
    const latest = feed.latest();
    if (latest) send(client, 'snapshot', latest);
  });
}

/** The dead-letter sink and API, or a 503 on the API when there is no store. */
function registerDeadLetters(app: FastifyInstance, opts: DashboardAppOptions): void {
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
}
