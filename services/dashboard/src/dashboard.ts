import {
  type BrokerLog,
  createDeadLetterStore,
  type DeadLetterStore,
  type LoadedResources,
} from '@tributary/eventing';
import { type Logger, TributaryError } from '@tributary/shared';
import type { FastifyInstance } from 'fastify';
import { buildDashboardApp } from './app.js';
import { type DashboardAuthOptions, isLoopbackBind } from './auth.js';
import { createBackfillSource } from './backfills.js';
import type { ClusterView, MetricsSource } from './collector.js';
import { PrometheusMetrics, type PrometheusMetricsOptions } from './prometheus-source.js';

export interface CreateDashboardOptions {
  logger: Logger;
  /**
   * Who may use it: `{ mode: 'jwt', jwtSecret }` (operators sign in with a service_role token) or
   * `{ mode: 'local', jwtSecret? }` (loopback only, for `tributary dev`). The secret also checks the
   * dispatchers' tokens at the dead-letter sink.
   */
  auth: DashboardAuthOptions;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /**
   * Broker ingress base URL(s), e.g. `http://127.0.0.1:8080`: their /metrics are scraped, and the first one
   * receives redriven dead letters.
   */
  brokerUrls?: string[];
  /** The local activator (Knative Serving stand-in): `GET /services` for scale, /metrics for cold starts. */
  activatorUrl?: string | undefined;
  /** db-events base URL(s): replication slot health from their /metrics. */
  dbEventsUrls?: string[];
  /** Other services whose /metrics are scraped (storage-events, auth-hooks). */
  metricsUrls?: string[];
  /** More sources, e.g. in-process prom-client registries. */
  sources?: MetricsSource[];
  /** The broker log: live tail, and lag read straight from Kafka/Postgres. Not closed by `close()`. */
  log?: BrokerLog | undefined;
  /** Postgres for the dead-letter store (created and closed by the dashboard)... */
  databaseUrl?: string | undefined;
  /** db-events' schema in that database, for the backfills view (default `tributary`, as DB_EVENTS_SCHEMA). */
  backfillSchema?: string | undefined;
  /** ...or an existing store (not closed by `close()`). */
  deadLetters?: DeadLetterStore | undefined;
  /** Bearer token for redrives when the ingress has JWT auth on. */
  brokerToken?: string | undefined;
  /** Local Broker/Trigger resources (Trigger filters, subscribers). */
  resources?: LoadedResources | undefined;
  /** The Kubernetes view (Triggers, Knative Services), e.g. from `kubernetesClusterView()`. */
  cluster?: (() => Promise<ClusterView>) | undefined;
  intervalMs?: number;
  safeWalWarnBytes?: number | undefined;
  /**
   * Kubernetes: read rates, latency, lag, scale and KafkaSink dead letters from this Prometheus (the
   * Knative Kafka Broker's and Kafka Exporter's metrics) instead of scraping `brokerUrls`.
   */
  prometheus?: PrometheusMetricsOptions | undefined;
}

export interface RunningDashboard {
  /** e.g. `http://127.0.0.1:8080` */
  url: string;
  port: number;
  app: FastifyInstance;
  deadLetters: DeadLetterStore | undefined;
  /** Scrapes now and pushes to the browsers (tests use it instead of waiting for the interval). */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

/** The sources a set of URLs describes. */
export function metricsSources(
  o: Pick<CreateDashboardOptions, 'brokerUrls' | 'activatorUrl' | 'dbEventsUrls' | 'metricsUrls'>,
): MetricsSource[] {
  return [
    ...(o.brokerUrls ?? []).map((url): MetricsSource => ({ kind: 'broker', url })),
    ...(o.activatorUrl ? [{ kind: 'activator' as const, url: o.activatorUrl }] : []),
    ...(o.dbEventsUrls ?? []).map((url): MetricsSource => ({ kind: 'db-events', url })),
    ...(o.metricsUrls ?? []).map((url): MetricsSource => ({ kind: 'other', url })),
  ];
}

/**
 * Starts the ops dashboard (what `tributary dev` mounts, and what src/index.ts runs standalone) and returns
 * its URL. The dead-letter sink is `<url>/dead-letters/<namespace>/<broker>`.
 */
export async function createDashboard(options: CreateDashboardOptions): Promise<RunningDashboard> {
  const logger = options.logger.child({ component: 'dashboard' });
  const host = options.host ?? '127.0.0.1';
  if (options.auth.mode === 'local' && !isLoopbackBind(host)) {
    throw new TributaryError(
      `dashboard auth mode "local" lets loopback clients in, so it must listen on loopback, not ${host}`,
      { code: 'CONFIG_INVALID' },
    );
  }
  const ingress = options.brokerUrls?.[0];
  const ownStore =
    !options.deadLetters && options.databaseUrl
      ? createDeadLetterStore({
          databaseUrl: options.databaseUrl,
          logger,
          ingress,
          token: options.brokerToken,
        })
      : undefined;
  const deadLetters = options.deadLetters ?? ownStore;
  const backfills = options.databaseUrl
    ? createBackfillSource({ databaseUrl: options.databaseUrl, schema: options.backfillSchema, logger })
    : undefined;
  const { app, refresh } = buildDashboardApp({
    backfills,
    logger,
    auth: options.auth,
    sources: [...metricsSources(options), ...(options.sources ?? [])],
    log: options.log,
    deadLetters,
    resources: options.resources,
    cluster: options.cluster,
    metrics: options.prometheus ? new PrometheusMetrics(options.prometheus) : undefined,
    ...(options.intervalMs !== undefined ? { intervalMs: options.intervalMs } : {}),
    safeWalWarnBytes: options.safeWalWarnBytes,
  });
  let address: string;
  try {
    address = await app.listen({ port: options.port ?? 8080, host });
  } catch (err) {
    await ownStore?.close();
    await backfills?.close();
    throw err;
  }
  const port = (app.server.address() as { port: number }).port;
  const url = address.replace('[::1]', 'localhost');
  logger.info({ url }, `dashboard listening on ${url}`);
  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    app,
    deadLetters,
    refresh: async () => {
      await refresh();
    },
    close() {
      closed ??= (async () => {
        await app.close();
        await ownStore?.close();
        await backfills?.close();
      })();
      return closed;
    },
  };
}
