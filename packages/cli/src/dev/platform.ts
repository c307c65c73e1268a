import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createDashboard } from '@tributary/dashboard';
import {
  type BrokerLog,
  createBrokerLog,
  createLocalServing,
  deadLetterTokenSource,
  discoverServices,
  type LoadedResources,
  type LocalServing,
  loadResources,
  type RunningBroker,
  startBroker,
  topicSettings,
} from '@tributary/eventing';
import { Lifecycle, type Logger, redactUrl } from '@tributary/shared';
import { freePort, minioBinary, startMinio, startPostgres } from '@tributary/testing';
import { Client as MinioClient } from 'minio';
import pg from 'pg';
import { parseAllDocuments } from 'yaml';
import { ChildService, waitReady } from './child.js';

/** Repository root (this file is packages/cli/{src,dist}/dev/). */
export const REPO_ROOT = resolve(import.meta.dirname, '../../../..');

export interface DevPorts {
  broker: number;
  dbEvents: number;
  storageEvents: number;
  authHooks: number;
  activator: number;
  dashboard: number;
  postgres: number;
  minio: number;
}

/** Fixed ports, so URLs stay the same across restarts (Postgres on 54322 as in Supabase's local stack). */
export const DEFAULT_PORTS: DevPorts = {
  broker: 8080,
  dbEvents: 8081,
  storageEvents: 8082,
  authHooks: 8083,
  activator: 8090,
  dashboard: 8088,
  postgres: 54322,
  minio: 9000,
};

export interface DevOptions {
  /** Where Postgres and MinIO data, secrets and logs live; kept across restarts. */
  dataDir: string;
  ports: DevPorts;
  logger: Logger;
  /** Each line the services and functions log (already JSON). */
  onServiceLine: (line: string, service: string) => void;
  /** The environment (DATABASE_URL, KAFKA_BROKERS, MINIO_ENDPOINT, ... switch to external services). */
  env: Record<string, string | undefined>;
  /** Folder holding function packages (each with service.yaml and trigger.yaml). */
  functionsDir?: string;
  /** Extra Broker/Trigger YAML (default: eventing/config when it exists). */
  configDirs?: string[];
  /** Progress lines for a person ("starting postgres…"). */
  progress: (line: string) => void;
}

export interface Endpoint {
  name: string;
  url: string;
  note?: string;
}

export interface DevPlatform {
  endpoints: Endpoint[];
  databaseUrl: string;
  brokerUrl: string;
  minio?: { endpoint: string; accessKey: string; secretKey: string; bucket: string };
  broker: RunningBroker;
  serving: LocalServing;
  log: BrokerLog;
  close(): Promise<void>;
}

interface DevSecrets {
  storageToken: string;
  authHookSecret: string;
  /** The platform JWT secret: dispatchers sign their dead-letter sink tokens with it. */
  jwtSecret: string;
}

function loadSecrets(dataDir: string): DevSecrets {
  const file = join(dataDir, 'secrets.json');
  const stored = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<DevSecrets>) : {};
  const secrets: DevSecrets = {
    storageToken: stored.storageToken ?? randomBytes(24).toString('base64url'),
    authHookSecret: stored.authHookSecret ?? `v1,whsec_${randomBytes(32).toString('base64')}`,
    jwtSecret: stored.jwtSecret ?? randomBytes(32).toString('base64url'),
  };
  if (Object.keys(secrets).some((k) => stored[k as keyof DevSecrets] === undefined)) {
    writeFileSync(file, JSON.stringify(secrets, null, 2));
    chmodSync(file, 0o600);
  }
  return secrets;
}

/** How to run a service package: its built dist when present, else its TypeScript through tsx. */
function serviceArgs(dir: string, entry = 'index'): string[] {
  const dist = join(dir, 'dist', `${entry}.js`);
  if (existsSync(dist)) return [dist];
  return ['--conditions=development', '--import', 'tsx', join(dir, 'src', `${entry}.ts`)];
}

function triggerNames(file: string): string[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string } } | null)
    .filter((d) => d?.kind === 'Trigger' && d.metadata?.name)
    .map((d) => d!.metadata!.name!);
}

/**
 * The Broker and Triggers for dev: eventing/config (the same YAML deployed to Kubernetes) plus each
 * function's trigger.yaml that eventing/config does not already define. If no folder defines a Broker,
 * a `default` one is generated.
 */
async function devResources(opts: DevOptions, functionsDir: string): Promise<LoadedResources> {
  const configDirs = opts.configDirs ?? [join(REPO_ROOT, 'eventing', 'config')].filter((d) => existsSync(d));
  const configured = configDirs.length ? await loadResources(configDirs) : undefined;
  const known = new Set(configured?.triggers.map((t) => t.name) ?? []);
  const triggerFiles: string[] = [];
  if (existsSync(functionsDir)) {
    for (const name of readdirSync(functionsDir).sort()) {
      const f = join(functionsDir, name, 'trigger.yaml');
      if (existsSync(f) && !triggerNames(f).some((n) => known.has(n))) triggerFiles.push(f);
    }
  }
  const paths = [...configDirs, ...triggerFiles];
  if (!configured || configured.brokers.length === 0) {
    const file = join(opts.dataDir, 'broker.yaml');
    writeFileSync(
      file,
      '# Generated by `tributary dev`: no Broker was found in eventing/config.\n' +
        'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n  namespace: default\n',
    );
    paths.unshift(file);
  }
  return loadResources(paths);
}

async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    const r = await c.query('select 1 from pg_database where datname = $1', [name]);
    if (r.rowCount === 0) await c.query(`create database "${name}"`);
  } finally {
    await c.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

async function applySql(url: string, file: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(readFileSync(file, 'utf8'));
  } finally {
    await c.end();
  }
}

/**
 * Starts the whole platform on one machine, in dependency order: Postgres, MinIO, the broker log,
 * local Knative Serving (functions), the broker (ingress + one dispatcher per Trigger), then db-events,
 * storage-events and auth-hooks as their own processes configured by env, as on Kubernetes. `close()`
 * stops everything in reverse order.
 */
export async function startDevPlatform(opts: DevOptions): Promise<DevPlatform> {
  const { logger, ports, env, progress } = opts;
  mkdirSync(opts.dataDir, { recursive: true });
  const secrets = loadSecrets(opts.dataDir);
  const lifecycle = new Lifecycle(logger);
  const functionsDir = opts.functionsDir ?? join(REPO_ROOT, 'services', 'functions');
  const endpoints: Endpoint[] = [];
  const children: ChildService[] = [];

  try {
    // 1. Postgres: embedded (data kept in <dataDir>/postgres) unless DATABASE_URL points at one.
    let databaseUrl: string;
    if (env.DATABASE_URL) {
      databaseUrl = env.DATABASE_URL;
      progress(`postgres: using DATABASE_URL ${redactUrl(databaseUrl)}`);
    } else {
      progress('postgres: starting embedded Postgres 17…');
      const t0 = Date.now();
      const pgInstance = await startPostgres({
        dataDir: join(opts.dataDir, 'postgres'),
        port: ports.postgres,
        persistent: true,
        log: (l) => logger.debug({ component: 'postgres' }, l),
      });
      lifecycle.add('postgres', () => pgInstance.stop());
      databaseUrl = await ensureDatabase(pgInstance.url, 'tributary');
      progress(`postgres: ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    }
    await applySql(databaseUrl, join(REPO_ROOT, 'infra', 'base', 'postgres', 'sql', '10-demo-schema.sql'));
    endpoints.push({
      name: 'postgres',
      url: redactUrl(databaseUrl),
      note: 'demo schema: users, projects, files',
    });

    // 2. MinIO: external (MINIO_ENDPOINT), the cached build, or off with a hint.
    let minio: DevPlatform['minio'];
    const bucket = 'uploads';
    const webhookEnv = {
      MINIO_NOTIFY_WEBHOOK_ENABLE_TRIBUTARY: 'on',
      MINIO_NOTIFY_WEBHOOK_ENDPOINT_TRIBUTARY: `http://127.0.0.1:${ports.storageEvents}/webhooks/minio`,
      MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_TRIBUTARY: secrets.storageToken,
      MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_TRIBUTARY: join(opts.dataDir, 'minio-queue'),
      MINIO_NOTIFY_WEBHOOK_QUEUE_LIMIT_TRIBUTARY: '100000',
    };
    if (env.MINIO_ENDPOINT) {
      minio = {
        endpoint: env.MINIO_ENDPOINT,
        accessKey: env.MINIO_ACCESS_KEY ?? 'minioadmin',
        secretKey: env.MINIO_SECRET_KEY ?? 'minioadmin',
        bucket,
      };
      progress(
        `minio: using MINIO_ENDPOINT ${env.MINIO_ENDPOINT} (its webhook target must point at storage-events)`,
      );
    } else if (existsSync(minioBinary())) {
      progress('minio: starting…');
      mkdirSync(webhookEnv.MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_TRIBUTARY, { recursive: true });
      const m = await startMinio({
        dataDir: join(opts.dataDir, 'minio'),
        port: ports.minio,
        persistent: true,
        env: webhookEnv,
      });
      lifecycle.add('minio', () => m.stop());
      minio = { endpoint: m.endpoint, accessKey: m.accessKey, secretKey: m.secretKey, bucket };
    } else {
      progress(
        'minio: not available. Build it once with `pnpm services:up` (go install, a few minutes) or set MINIO_ENDPOINT; storage-events stays off.',
      );
    }
    if (minio) {
      const u = new URL(minio.endpoint);
      const client = new MinioClient({
        endPoint: u.hostname,
        port: Number(u.port || 80),
        useSSL: u.protocol === 'https:',
        accessKey: minio.accessKey,
        secretKey: minio.secretKey,
      });
      if (!(await client.bucketExists(bucket))) await client.makeBucket(bucket);
      endpoints.push({
        name: 'minio',
        url: minio.endpoint,
        note: `bucket "${bucket}", keys ${minio.accessKey}/<secret>`,
      });
    }

    // 3. The broker log: Kafka when KAFKA_BROKERS is set, else the Postgres log in tributary_broker.
    const kafkaBrokers = env.KAFKA_BROKERS?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const functions = discoverServices(functionsDir);
    const resources = await devResources(opts, functionsDir);
    const log = createBrokerLog({
      ...(kafkaBrokers?.length ? { kafkaBrokers } : {}),
      databaseUrl,
      logger,
      ...topicSettings(resources),
    });
    lifecycle.add('broker-log', () => log.close());
    progress(
      `broker log: ${log.kind}${kafkaBrokers?.length ? ` (${kafkaBrokers.join(',')})` : ' (schema tributary_broker)'}`,
    );

    // 4. Local Knative Serving: functions start on their first event and scale to zero.
    const brokerBase = `http://127.0.0.1:${ports.broker}`;
    const serving = createLocalServing({
      services: functions,
      logger,
      runtime: {
        args: [
          '--conditions=development',
          '--import',
          'tsx',
          join(REPO_ROOT, 'services/functions/runtime/src/main.ts'),
        ],
        env: {
          DATABASE_URL: databaseUrl,
          K_SINK: `${brokerBase}/default/default`,
          LOG_LEVEL: env.LOG_LEVEL ?? 'info',
        },
        onOutput: opts.onServiceLine,
      },
    });
    const activatorUrl = await serving.app.listen({ port: ports.activator, host: '127.0.0.1' });
    lifecycle.add('serving', () => serving.close());
    await serving.start(activatorUrl);
    endpoints.push({
      name: 'functions',
      url: activatorUrl,
      note:
        functions.map((f) => `${f.name} (min ${f.minScale}, max ${f.maxScale})`).join(', ') || 'none found',
    });

    // 5. The ops dashboard, which also hosts the dead-letter store: on Kubernetes the Broker's deadLetterSink
    //    is a KafkaSink; locally every sink ref that is not a function lands in Postgres
    //    (tributary_broker.dead_letters), browsable and redrivable from the dashboard.
    const dashboard = await createDashboard({
      logger: logger.child({ component: 'dashboard' }),
      // Loopback only, no sign-in for the local user; the dead-letter sink takes only the dispatchers.
      auth: { mode: 'local', jwtSecret: secrets.jwtSecret },
      port: ports.dashboard,
      host: '127.0.0.1',
      brokerUrls: [brokerBase],
      activatorUrl,
      dbEventsUrls: [`http://127.0.0.1:${ports.dbEvents}`],
      metricsUrls: [`http://127.0.0.1:${ports.storageEvents}`, `http://127.0.0.1:${ports.authHooks}`],
      log,
      databaseUrl,
      resources,
    });
    lifecycle.add('dashboard', () => dashboard.close());
    const dlqUrl = dashboard.url;
    endpoints.push({
      name: 'dashboard',
      url: dashboard.url,
      note: 'throughput, lag, dead letters (redrive), live tail, functions, slot health',
    });

    // 6. The broker: ingress + one dispatcher per Trigger.
    const broker = await startBroker({
      resources,
      log,
      logger,
      port: ports.broker,
      host: '127.0.0.1',
      deadLetterToken: deadLetterTokenSource(secrets.jwtSecret, { subject: 'tributary-dev-broker' }),
      resolver: {
        resolve: (ref) =>
          ref.kind === 'Service'
            ? serving.resolve(ref, ref.namespace)
            : `${dlqUrl}/dead-letters/${ref.namespace}/default`,
      },
    });
    lifecycle.add('broker', () => broker.close());
    const brokerUrl = broker.brokerUrl({ namespace: 'default', name: 'default' });
    endpoints.push({
      name: 'broker',
      url: brokerUrl,
      note: `${resources.triggers.length} triggers: ${resources.triggers.map((t) => t.name).join(', ')}`,
    });

    // 7. The event sources, each its own process configured by env alone.
    const common = { LOG_LEVEL: env.LOG_LEVEL ?? 'info', HOST: '127.0.0.1', K_SINK: brokerUrl };
    const specs: { name: string; dir: string; port: number; env: Record<string, string> }[] = [
      {
        name: 'db-events',
        dir: join(REPO_ROOT, 'services/db-events'),
        port: ports.dbEvents,
        env: {
          DATABASE_URL: databaseUrl,
          // Only the app's tables: the broker's own log lives in this database too.
          DB_EVENTS_TABLES: env.DB_EVENTS_TABLES ?? 'public.*',
          DB_EVENTS_SLOT: 'tributary_dev',
          DB_EVENTS_PUBLICATION: 'tributary_dev',
        },
      },
      {
        name: 'auth-hooks',
        dir: join(REPO_ROOT, 'services/auth-hooks'),
        port: ports.authHooks,
        env: { AUTH_HOOK_SECRETS: secrets.authHookSecret, DATABASE_URL: databaseUrl },
      },
    ];
    if (minio) {
      specs.push({
        name: 'storage-events',
        dir: join(REPO_ROOT, 'services/storage-events'),
        port: ports.storageEvents,
        env: {
          STORAGE_EVENTS_TOKEN: secrets.storageToken,
          MINIO_ENDPOINT: minio.endpoint,
          MINIO_ACCESS_KEY: minio.accessKey,
          MINIO_SECRET_KEY: minio.secretKey,
          STORAGE_EVENTS_BUCKETS: `${bucket}:events=put|delete`,
          STORAGE_EVENTS_TARGET_ID: 'TRIBUTARY',
          // Notifications the broker refuses for good become dead letters in the dashboard.
          STORAGE_EVENTS_DEAD_LETTER_SINK: `${dlqUrl}/dead-letters/default/default`,
          STORAGE_EVENTS_DEAD_LETTER_TOKEN: await deadLetterTokenSource(secrets.jwtSecret, {
            subject: 'storage-events',
            ttlSeconds: 30 * 24 * 3600,
          })(),
        },
      });
    }
    for (const s of specs) {
      const child = new ChildService({
        name: s.name,
        args: serviceArgs(s.dir),
        cwd: REPO_ROOT,
        env: { ...common, ...s.env, PORT: String(s.port) },
        onLine: opts.onServiceLine,
        onExit: (code, signal) => logger.error({ service: s.name, code, signal }, `${s.name} exited`),
      });
      child.start();
      children.push(child);
      lifecycle.add(s.name, () => child.stop());
    }
    progress('waiting for db-events, auth-hooks and storage-events to be ready…');
    for (const [i, s] of specs.entries()) {
      const url = `http://127.0.0.1:${s.port}`;
      const ok = await waitReady(`${url}/readyz`, 120_000, () => children[i]!.running);
      endpoints.push({
        name: s.name,
        url,
        note: ok ? hookNote(s.name, url, secrets) : 'NOT READY (see its log lines above)',
      });
    }

    return {
      endpoints,
      databaseUrl,
      brokerUrl,
      ...(minio ? { minio } : {}),
      broker,
      serving,
      log,
      close: () => lifecycle.shutdown('dev stopped'),
    };
  } catch (err) {
    await lifecycle.shutdown('start failed');
    throw err;
  }
}

function hookNote(name: string, url: string, secrets: DevSecrets): string | undefined {
  if (name === 'auth-hooks') return `hooks at ${url}/hooks/<hook>; secret in secrets.json`;
  if (name === 'storage-events') return `MinIO webhook ${url}/webhooks/minio`;
  if (name === 'db-events') return 'slot tributary_dev, tables public.*';
  void secrets;
  return undefined;
}

/** Picks free ports for every service (tests and `--ports auto`). */
export async function autoPorts(): Promise<DevPorts> {
  return {
    broker: await freePort(),
    dbEvents: await freePort(),
    storageEvents: await freePort(),
    authHooks: await freePort(),
    activator: await freePort(),
    dashboard: await freePort(),
    postgres: await freePort(),
    minio: await freePort(),
  };
}
