import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDashboard } from '@tributary/dashboard';
import { ensureMinioBinary, freePort, minioBinary, startMinio, startPostgres } from '@tributary/embedded';
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
import { Client as MinioClient } from 'minio';
import pg from 'pg';
import { parseAllDocuments } from 'yaml';
import { ChildService, waitReady } from './child.js';
import { FunctionBuilder } from './functions.js';
import { DEV_SERVICES, type DevServiceName, demoSchemaFile, devProject, serviceEntry } from './project.js';

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
  /** Folder holding function packages (each with service.yaml and trigger.yaml; default: the project's services/functions). */
  functionsDir?: string;
  /** Extra Broker/Trigger YAML (default: the project's eventing/config when it exists). */
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
  /** Set once MinIO runs (at once, or when its background build has finished). */
  readonly minio: { endpoint: string; accessKey: string; secretKey: string; bucket: string } | undefined;
  /** When MinIO is being built in the background: resolves once storage-events has joined (or gave up). */
  minioBuilt?: Promise<void>;
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

/** How to run a platform service: its compiled entry, found through the CLI's dependencies (dev/project.ts). */
function serviceArgs(service: DevServiceName): string[] {
  return [serviceEntry(service)];
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
  const configDirs = opts.configDirs ?? devProject().configDirs;
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

/** What the steps of {@link startDevPlatform} share. */
interface DevContext {
  opts: DevOptions;
  logger: Logger;
  ports: DevPorts;
  env: Record<string, string | undefined>;
  progress: (line: string) => void;
  secrets: DevSecrets;
  /** Everything started, stopped in reverse order. */
  lifecycle: Lifecycle;
  /** What the banner lists, in start order. */
  endpoints: Endpoint[];
}

type MinioAccess = NonNullable<DevPlatform['minio']>;

/** MinIO as it stands while the platform starts (and, when built in the background, after). */
interface StorageState {
  minio: DevPlatform['minio'];
  /** Build MinIO in the background once everything else runs. */
  build: boolean;
  /** While MinIO is being built: what the dashboard and the banner show. */
  starting: string | undefined;
  /** Starts the embedded MinIO (with its webhook to storage-events) and creates the bucket. */
  startLocal: () => Promise<MinioAccess>;
}

const BUCKET = 'uploads';

/**
 * Starts the whole platform on one machine, in dependency order: Postgres, MinIO, the broker log,
 * local Knative Serving (functions), the broker (ingress + one dispatcher per Trigger), then db-events,
 * storage-events and auth-hooks as their own processes configured by env, as on Kubernetes. `close()`
 * stops everything in reverse order.
 */
export async function startDevPlatform(opts: DevOptions): Promise<DevPlatform> {
  // Every service it starts is built and installed, or it fails now, naming the package, before anything runs.
  for (const service of Object.keys(DEV_SERVICES) as DevServiceName[]) serviceEntry(service);
  mkdirSync(opts.dataDir, { recursive: true });
  const ctx: DevContext = {
    opts,
    logger: opts.logger,
    ports: opts.ports,
    env: opts.env,
    progress: opts.progress,
    secrets: loadSecrets(opts.dataDir),
    lifecycle: new Lifecycle(opts.logger),
    endpoints: [],
  };
  const functionsDir = opts.functionsDir ?? devProject().functionsDir;
  try {
    const databaseUrl = await startDatabase(ctx);
    const storage = await startStorage(ctx);
    const functions = discoverServices(functionsDir);
    const resources = await devResources(opts, functionsDir);
    const log = openBrokerLog(ctx, databaseUrl, resources);
    const { serving, activatorUrl } = await startServing(ctx, databaseUrl, functions);
    const dlqUrl = await startDashboard(ctx, { databaseUrl, activatorUrl, log, resources, storage });
    const broker = await startDevBroker(ctx, { resources, log, serving, dlqUrl });
    const brokerUrl = broker.brokerUrl({ namespace: 'default', name: 'default' });
    const sources = await startSources(ctx, { databaseUrl, brokerUrl, dlqUrl, storage });
    const minioBuilt = storage.build ? buildMinioInBackground(ctx, storage, sources) : undefined;
    return {
      endpoints: ctx.endpoints,
      databaseUrl,
      brokerUrl,
      get minio() {
        return storage.minio;
      },
      ...(minioBuilt ? { minioBuilt } : {}),
      broker,
      serving,
      log,
      close: () => ctx.lifecycle.shutdown('dev stopped'),
    };
  } catch (err) {
    await ctx.lifecycle.shutdown('start failed');
    throw err;
  }
}

/** 1. Postgres: embedded (data kept in <dataDir>/postgres) unless DATABASE_URL points at one. */
async function startDatabase(ctx: DevContext): Promise<string> {
  const { env, logger, lifecycle, progress } = ctx;
  let databaseUrl: string;
  if (env.DATABASE_URL) {
    databaseUrl = env.DATABASE_URL;
    progress(`postgres: using DATABASE_URL ${redactUrl(databaseUrl)}`);
  } else {
    progress('postgres: starting embedded Postgres 17…');
    const t0 = Date.now();
    const pgInstance = await startPostgres({
      dataDir: join(ctx.opts.dataDir, 'postgres'),
      port: ctx.ports.postgres,
      persistent: true,
      log: (l) => logger.debug({ component: 'postgres' }, l),
    });
    lifecycle.add('postgres', () => pgInstance.stop());
    databaseUrl = await ensureDatabase(pgInstance.url, 'tributary');
    progress(`postgres: ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  }
  await applySql(databaseUrl, demoSchemaFile());
  ctx.endpoints.push({
    name: 'postgres',
    url: redactUrl(databaseUrl),
    note: 'demo schema: users, projects, files',
  });
  return databaseUrl;
}

/**
 * 2. MinIO: external (MINIO_ENDPOINT), the cached build, or built in the background (go install, once)
 *    while everything else starts; storage-events then joins as soon as MinIO is ready.
 */
async function startStorage(ctx: DevContext): Promise<StorageState> {
  const { env, logger, lifecycle, progress, ports, secrets, opts } = ctx;
  const webhookEnv = {
    MINIO_NOTIFY_WEBHOOK_ENABLE_TRIBUTARY: 'on',
    MINIO_NOTIFY_WEBHOOK_ENDPOINT_TRIBUTARY: `http://127.0.0.1:${ports.storageEvents}/webhooks/minio`,
    MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_TRIBUTARY: secrets.storageToken,
    MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_TRIBUTARY: join(opts.dataDir, 'minio-queue'),
    MINIO_NOTIFY_WEBHOOK_QUEUE_LIMIT_TRIBUTARY: '100000',
  };
  const startLocal = async (): Promise<MinioAccess> => {
    mkdirSync(webhookEnv.MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_TRIBUTARY, { recursive: true });
    const m = await startMinio({
      dataDir: join(opts.dataDir, 'minio'),
      port: ports.minio,
      persistent: true,
      env: webhookEnv,
      log: (l) => logger.debug({ component: 'minio' }, l),
    });
    lifecycle.add('minio', () => m.stop());
    const started = { endpoint: m.endpoint, accessKey: m.accessKey, secretKey: m.secretKey, bucket: BUCKET };
    await ensureBucket(started);
    return started;
  };
  const storage: StorageState = { minio: undefined, build: false, starting: undefined, startLocal };
  if (env.MINIO_ENDPOINT) {
    storage.minio = {
      endpoint: env.MINIO_ENDPOINT,
      accessKey: env.MINIO_ACCESS_KEY ?? 'minioadmin',
      secretKey: env.MINIO_SECRET_KEY ?? 'minioadmin',
      bucket: BUCKET,
    };
    progress(
      `minio: using MINIO_ENDPOINT ${env.MINIO_ENDPOINT} (its webhook target must point at storage-events)`,
    );
    await ensureBucket(storage.minio);
  } else if (existsSync(minioBinary())) {
    progress('minio: starting…');
    storage.minio = await startLocal();
  } else if (goAvailable()) {
    storage.build = true;
    storage.starting = 'storage: starting (building MinIO, 0%)';
    progress(
      'minio: not built yet: building it now in the background (go install, once, a few minutes); storage-events joins as soon as it is ready.',
    );
  } else {
    progress(
      'minio: off: building MinIO needs Go (https://go.dev/dl), or set MINIO_ENDPOINT to a running MinIO; storage-events stays off.',
    );
  }
  if (storage.minio) {
    ctx.endpoints.push({
      name: 'minio',
      url: storage.minio.endpoint,
      note: `bucket "${BUCKET}", keys ${storage.minio.accessKey}/<secret>`,
    });
  }
  return storage;
}

/** 3. The broker log: Kafka when KAFKA_BROKERS is set, else the Postgres log in tributary_broker. */
function openBrokerLog(ctx: DevContext, databaseUrl: string, resources: LoadedResources): BrokerLog {
  const kafkaBrokers = ctx.env.KAFKA_BROKERS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const log = createBrokerLog({
    ...(kafkaBrokers?.length ? { kafkaBrokers } : {}),
    databaseUrl,
    logger: ctx.logger,
    ...topicSettings(resources),
  });
  ctx.lifecycle.add('broker-log', () => log.close());
  ctx.progress(
    `broker log: ${log.kind}${kafkaBrokers?.length ? ` (${kafkaBrokers.join(',')})` : ' (schema tributary_broker)'}`,
  );
  return log;
}

/**
 * 4. Local Knative Serving: functions start on their first event and scale to zero. Each function is
 *    compiled to JavaScript (and recompiled when it changes); the runtime runs from its build.
 */
async function startServing(
  ctx: DevContext,
  databaseUrl: string,
  functions: ReturnType<typeof discoverServices>,
): Promise<{ serving: LocalServing; activatorUrl: string }> {
  const { logger, lifecycle, env, ports } = ctx;
  const builder = new FunctionBuilder(logger.child({ component: 'functions' }));
  lifecycle.add('function-builder', () => builder.close());
  await builder.buildAll(functions);
  const serving = createLocalServing({
    services: functions,
    logger,
    runtime: {
      args: serviceArgs('function-runtime'),
      env: {
        DATABASE_URL: databaseUrl,
        K_SINK: `http://127.0.0.1:${ports.broker}/default/default`,
        LOG_LEVEL: env.LOG_LEVEL ?? 'info',
      },
      onOutput: ctx.opts.onServiceLine,
    },
  });
  const activatorUrl = await serving.app.listen({ port: ports.activator, host: '127.0.0.1' });
  lifecycle.add('serving', () => serving.close());
  await serving.start(activatorUrl);
  builder.watch(functions, (spec) => serving.pools.get(`${spec.namespace}/${spec.name}`)?.recycle());
  ctx.endpoints.push({
    name: 'functions',
    url: activatorUrl,
    note: functions.map((f) => `${f.name} (min ${f.minScale}, max ${f.maxScale})`).join(', ') || 'none found',
  });
  return { serving, activatorUrl };
}

/**
 * 5. The ops dashboard, which also hosts the dead-letter store: on Kubernetes the Broker's deadLetterSink
 *    is a KafkaSink; locally every sink ref that is not a function lands in Postgres
 *    (tributary_broker.dead_letters), browsable and redrivable from the dashboard. Returns its URL (the
 *    dead-letter sink's base).
 */
async function startDashboard(
  ctx: DevContext,
  deps: {
    databaseUrl: string;
    activatorUrl: string;
    log: BrokerLog;
    resources: LoadedResources;
    storage: StorageState;
  },
): Promise<string> {
  const { ports } = ctx;
  const dashboard = await createDashboard({
    logger: ctx.logger.child({ component: 'dashboard' }),
    // Loopback only, no sign-in for the local user; the dead-letter sink takes only the dispatchers.
    auth: { mode: 'local', jwtSecret: ctx.secrets.jwtSecret },
    port: ports.dashboard,
    host: '127.0.0.1',
    brokerUrls: [`http://127.0.0.1:${ports.broker}`],
    activatorUrl: deps.activatorUrl,
    dbEventsUrls: [`http://127.0.0.1:${ports.dbEvents}`],
    sources: [
      {
        kind: 'other',
        name: 'storage-events',
        url: `http://127.0.0.1:${ports.storageEvents}`,
        starting: () => deps.storage.starting,
      },
      { kind: 'other', name: 'auth-hooks', url: `http://127.0.0.1:${ports.authHooks}` },
    ],
    log: deps.log,
    databaseUrl: deps.databaseUrl,
    resources: deps.resources,
  });
  ctx.lifecycle.add('dashboard', () => dashboard.close());
  ctx.endpoints.push({
    name: 'dashboard',
    url: dashboard.url,
    note: 'throughput, lag, dead letters (redrive), live tail, functions, slot health',
  });
  return dashboard.url;
}

/** 6. The broker: ingress + one dispatcher per Trigger. */
async function startDevBroker(
  ctx: DevContext,
  deps: { resources: LoadedResources; log: BrokerLog; serving: LocalServing; dlqUrl: string },
): Promise<RunningBroker> {
  const { resources, serving, dlqUrl } = deps;
  const broker = await startBroker({
    resources,
    log: deps.log,
    logger: ctx.logger,
    port: ctx.ports.broker,
    host: '127.0.0.1',
    deadLetterToken: deadLetterTokenSource(ctx.secrets.jwtSecret, { subject: 'tributary-dev-broker' }),
    resolver: {
      resolve: (ref) =>
        ref.kind === 'Service'
          ? serving.resolve(ref, ref.namespace)
          : `${dlqUrl}/dead-letters/${ref.namespace}/default`,
    },
  });
  ctx.lifecycle.add('broker', () => broker.close());
  ctx.endpoints.push({
    name: 'broker',
    url: broker.brokerUrl({ namespace: 'default', name: 'default' }),
    note: `${resources.triggers.length} triggers: ${resources.triggers.map((t) => t.name).join(', ')}`,
  });
  return broker;
}

interface SourceSpec {
  name: DevServiceName;
  port: number;
  env: Record<string, string>;
}

/** The event sources started by {@link startSources}, and how to add storage-events later. */
interface Sources {
  storageSpec: (m: MinioAccess) => SourceSpec;
  startChild: (s: SourceSpec) => ChildService;
}

/** 7. The event sources, each its own process configured by env alone; waits until each is ready. */
async function startSources(
  ctx: DevContext,
  deps: { databaseUrl: string; brokerUrl: string; dlqUrl: string; storage: StorageState },
): Promise<Sources> {
  const { env, ports, secrets, logger, lifecycle, progress } = ctx;
  const { databaseUrl, dlqUrl } = deps;
  const common = { LOG_LEVEL: env.LOG_LEVEL ?? 'info', HOST: '127.0.0.1', K_SINK: deps.brokerUrl };
  const specs: SourceSpec[] = [
    {
      name: 'db-events',
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
      port: ports.authHooks,
      env: { AUTH_HOOK_SECRETS: secrets.authHookSecret, DATABASE_URL: databaseUrl },
    },
  ];
  // Notifications the broker refuses for good become dead letters in the dashboard.
  const storageDeadLetterToken = await deadLetterTokenSource(secrets.jwtSecret, {
    subject: 'storage-events',
    ttlSeconds: 30 * 24 * 3600,
  })();
  const storageSpec = (m: MinioAccess): SourceSpec => ({
    name: 'storage-events',
    port: ports.storageEvents,
    env: {
      STORAGE_EVENTS_TOKEN: secrets.storageToken,
      MINIO_ENDPOINT: m.endpoint,
      MINIO_ACCESS_KEY: m.accessKey,
      MINIO_SECRET_KEY: m.secretKey,
      STORAGE_EVENTS_BUCKETS: `${m.bucket}:events=put|delete`,
      STORAGE_EVENTS_TARGET_ID: 'TRIBUTARY',
      STORAGE_EVENTS_DEAD_LETTER_SINK: `${dlqUrl}/dead-letters/default/default`,
      STORAGE_EVENTS_DEAD_LETTER_TOKEN: storageDeadLetterToken,
    },
  });
  if (deps.storage.minio) specs.push(storageSpec(deps.storage.minio));
  const startChild = (s: SourceSpec): ChildService => {
    const child = new ChildService({
      name: s.name,
      args: serviceArgs(s.name),
      cwd: ctx.opts.dataDir,
      env: { ...common, ...s.env, PORT: String(s.port) },
      onLine: ctx.opts.onServiceLine,
      onExit: (code, signal) => {
        // Ctrl-C reaches the services too (one process group): a clean exit is not an error.
        const clean = code === 0 || signal === 'SIGINT' || signal === 'SIGTERM';
        if (clean) logger.info({ service: s.name, code, signal }, `${s.name} stopped`);
        else logger.error({ service: s.name, code, signal }, `${s.name} exited`);
      },
    });
    child.start();
    lifecycle.add(s.name, () => child.stop());
    return child;
  };
  const children = specs.map(startChild);
  progress(`waiting for ${specs.map((s) => s.name).join(', ')} to be ready…`);
  for (const [i, s] of specs.entries()) {
    const url = `http://127.0.0.1:${s.port}`;
    const ok = await waitReady(`${url}/readyz`, 120_000, () => children[i]!.running);
    ctx.endpoints.push({
      name: s.name,
      url,
      note: ok ? hookNote(s.name, url) : 'NOT READY (see its log lines above)',
    });
  }
  return { storageSpec, startChild };
}

/** 8. MinIO built in the background: storage-events joins when it is ready, with no restart. */
function buildMinioInBackground(ctx: DevContext, storage: StorageState, sources: Sources): Promise<void> {
  const { logger, progress } = ctx;
  const abort = new AbortController();
  ctx.lifecycle.add('minio-build', () => abort.abort());
  ctx.endpoints.push({
    name: 'storage-events',
    url: `http://127.0.0.1:${ctx.ports.storageEvents}`,
    note: 'starting once MinIO is built (progress below and on the dashboard)',
  });
  let shown = -1;
  return (async () => {
    try {
      await ensureMinioBinary((l) => logger.debug({ component: 'minio' }, l), {
        signal: abort.signal,
        onProgress: (p) => {
          storage.starting = `storage: starting (building MinIO, ${p.percent}%)`;
          const step = Math.floor(p.percent / 10) * 10;
          if (step > shown) {
            shown = step;
            progress(
              p.phase === 'downloading'
                ? `minio: downloading Go modules (${p.modules})…`
                : `minio: building, ${p.percent}%…`,
            );
          }
        },
      });
      if (abort.signal.aborted) return;
      storage.starting = 'storage: starting (starting MinIO)';
      const m = await storage.startLocal();
      storage.minio = m;
      const s = sources.storageSpec(m);
      const child = sources.startChild(s);
      const url = `http://127.0.0.1:${s.port}`;
      const ok = await waitReady(`${url}/readyz`, 120_000, () => child.pid !== undefined);
      storage.starting = undefined;
      if (ok) progress(`storage: ready: MinIO ${m.endpoint} (bucket "${m.bucket}"), storage-events ${url}`);
      else progress('storage: storage-events did not become ready (see its log lines)');
    } catch (err) {
      storage.starting = undefined;
      if (abort.signal.aborted) return;
      logger.warn({ err: (err as Error).message }, 'MinIO could not be built; storage events stay off');
    }
  })();
}

function hookNote(name: string, url: string): string | undefined {
  if (name === 'auth-hooks') return `hooks at ${url}/hooks/<hook>; secret in secrets.json`;
  if (name === 'storage-events') return `MinIO webhook ${url}/webhooks/minio`;
  if (name === 'db-events') return 'slot tributary_dev, tables public.*';
  return undefined;
}

/** Creates the bucket that `tributary upload` and the file-indexer use, when it does not exist. */
async function ensureBucket(m: { endpoint: string; accessKey: string; secretKey: string; bucket: string }) {
  const u = new URL(m.endpoint);
  const client = new MinioClient({
    endPoint: u.hostname,
    port: Number(u.port || 80),
    useSSL: u.protocol === 'https:',
    accessKey: m.accessKey,
    secretKey: m.secretKey,
  });
  if (!(await client.bucketExists(m.bucket))) await client.makeBucket(m.bucket);
}

function goAvailable(): boolean {
  const probe = spawnSync('go', ['version'], { stdio: 'ignore' });
  return !probe.error && probe.status === 0;
}

/**
 * Picks free ports for every service (tests and `--ports auto`), all different: nothing listens on them yet,
 * so the system may hand out the same free port twice (regression: db-events and storage-events on one port).
 */
export async function autoPorts(): Promise<DevPorts> {
  const taken = new Set<number>();
  const pick = async (): Promise<number> => {
    for (;;) {
      const port = await freePort();
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  return {
    broker: await pick(),
    dbEvents: await pick(),
    storageEvents: await pick(),
    authHooks: await pick(),
    activator: await pick(),
    dashboard: await pick(),
    postgres: await pick(),
    minio: await pick(),
  };
}
