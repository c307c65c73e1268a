// Starts the ops dashboard standalone (README.md). Only starts; see dashboard.ts and app.ts.
import { type BrokerLog, createKafkaLog, createPostgresLog, loadResources } from '@tributary/eventing';
import { createLogger, Lifecycle, loadServiceEnv } from '@tributary/shared';
import { createDashboard } from './dashboard.js';
import { loadEnv } from './env.js';
import { kubernetesClusterView } from './kubernetes.js';
import { parseDeadLetterSinks } from './prometheus-source.js';

const env = loadServiceEnv(
  'dashboard',
  'usage: node services/dashboard/dist/index.js\n\nThe ops dashboard: broker throughput, trigger lag, dead letters, live tail, functions, slot health.\nConfigured by environment variables only: DASHBOARD_BROKER_URL, DATABASE_URL or KAFKA_BROKERS, ... (services/dashboard/README.md).',
  loadEnv,
);
const logger = createLogger({ name: 'dashboard', level: env.LOG_LEVEL });
const lifecycle = new Lifecycle(logger);
lifecycle.installSignalHandlers();

try {
  let log: BrokerLog | undefined;
  if (env.KAFKA_BROKERS.length > 0) {
    log = createKafkaLog({ brokers: env.KAFKA_BROKERS, logger, clientId: 'tributary-dashboard' });
  } else if (env.DATABASE_URL) {
    // Retention is the broker's job: this log only reads (tail, lag).
    log = createPostgresLog({ databaseUrl: env.DATABASE_URL, logger, retention: { intervalMs: 0 } });
  }
  if (log) {
    const l = log;
    lifecycle.add('broker-log', () => l.close());
  }
  const resources = env.DASHBOARD_CONFIG.length > 0 ? await loadResources(env.DASHBOARD_CONFIG) : undefined;
  const dashboard = await createDashboard({
    logger,
    auth: {
      mode: env.DASHBOARD_AUTH,
      jwtSecret: env.DASHBOARD_JWT_SECRET,
      roles: env.DASHBOARD_OPERATOR_ROLES,
    },
    port: env.PORT,
    host: env.HOST,
    brokerUrls: env.DASHBOARD_BROKER_URL,
    activatorUrl: env.DASHBOARD_ACTIVATOR_URL,
    dbEventsUrls: env.DASHBOARD_DB_EVENTS_URL,
    metricsUrls: env.DASHBOARD_METRICS_URLS,
    log,
    databaseUrl: env.DATABASE_URL,
    backfillSchema: env.DASHBOARD_DB_EVENTS_SCHEMA,
    brokerToken: env.DASHBOARD_BROKER_TOKEN,
    resources,
    cluster: env.DASHBOARD_KUBERNETES
      ? kubernetesClusterView({ namespace: env.DASHBOARD_NAMESPACE })
      : undefined,
    prometheus: env.DASHBOARD_PROMETHEUS_URL
      ? {
          url: env.DASHBOARD_PROMETHEUS_URL,
          rateWindow: env.DASHBOARD_PROMETHEUS_WINDOW,
          deadLetterSinks: parseDeadLetterSinks(env.DASHBOARD_DEAD_LETTER_SINKS),
        }
      : undefined,
    intervalMs: env.DASHBOARD_INTERVAL_MS,
    safeWalWarnBytes: env.DASHBOARD_SAFE_WAL_WARN_BYTES,
  });
  lifecycle.add('dashboard', () => dashboard.close());
} catch (err) {
  logger.fatal({ err }, 'dashboard failed to start');
  await lifecycle.shutdown('start failed');
  process.exit(1);
}
