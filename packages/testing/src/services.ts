// Starts the three test services together; shared by the Jest global setup and `pnpm services:up`.
import { join } from 'node:path';
import {
  type Log,
  POSTGRES_EPHEMERAL_SETTINGS,
  seconds,
  startKafka,
  startMinio,
  startPostgres,
  stderrLog,
} from '@tributary/embedded';

export const SERVICE_NAMES = ['postgres', 'kafka', 'minio'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** The variable whose presence means "this service is already running elsewhere, do not start it". */
export const SERVICE_ENV: Readonly<Record<ServiceName, string>> = {
  postgres: 'DATABASE_URL',
  kafka: 'KAFKA_BROKERS',
  minio: 'MINIO_ENDPOINT',
};

/** Every variable that describes a running service. */
export const SERVICE_VARS: Readonly<Record<ServiceName, readonly string[]>> = {
  postgres: ['DATABASE_URL'],
  kafka: ['KAFKA_BROKERS'],
  minio: ['MINIO_ENDPOINT', 'MINIO_ACCESS_KEY', 'MINIO_SECRET_KEY'],
};

/**
 * Which services a test run must start: all three unless `TRIBUTARY_TEST_SERVICES` says otherwise
 * (`none`, or a comma-separated subset such as `postgres,kafka`), minus those the env already points at.
 */
export function servicesToStart(env: NodeJS.ProcessEnv = process.env): ServiceName[] {
  const wanted = (env.TRIBUTARY_TEST_SERVICES ?? 'all').trim().toLowerCase();
  let names: ServiceName[];
  if (wanted === '' || wanted === 'all') names = [...SERVICE_NAMES];
  else if (wanted === 'none') names = [];
  else {
    names = [];
    for (const part of wanted.split(',').map((s) => s.trim())) {
      if (!(SERVICE_NAMES as readonly string[]).includes(part)) {
        throw new Error(
          `TRIBUTARY_TEST_SERVICES: unknown service "${part}" (expected all, none or a list of ${SERVICE_NAMES.join(', ')})`,
        );
      }
      names.push(part as ServiceName);
    }
  }
  return names.filter((name) => !env[SERVICE_ENV[name]]);
}

export interface RunningService {
  name: ServiceName;
  pid: number;
  dataDir: string;
  logFile: string;
  stop(): Promise<void>;
}

export interface RunningServices {
  /** DATABASE_URL, KAFKA_BROKERS, MINIO_ENDPOINT, MINIO_ACCESS_KEY, MINIO_SECRET_KEY (for those started). */
  env: Record<string, string>;
  services: RunningService[];
  /** Stops everything started, in reverse order of the list. */
  stop(): Promise<void>;
}

export interface StartServicesOptions {
  only?: readonly ServiceName[];
  /** Keep them running after this process exits, with data under `dataRoot/<name>` (services:up). */
  background?: boolean;
  dataRoot?: string;
  log?: Log;
}

/** Starts the chosen services in parallel; if one fails, the others are stopped again and the error thrown. */
export async function startServices(options: StartServicesOptions = {}): Promise<RunningServices> {
  const log = options.log ?? stderrLog;
  const names = options.only ?? SERVICE_NAMES;
  const started = Date.now();
  const dataDir = (name: ServiceName) => (options.dataRoot ? join(options.dataRoot, name) : undefined);
  const common = { background: options.background, log };
  const env: Record<string, string> = {};

  const starters: Record<ServiceName, () => Promise<RunningService>> = {
    postgres: async () => {
      const pg = await startPostgres({
        ...common,
        dataDir: dataDir('postgres'),
        settings: POSTGRES_EPHEMERAL_SETTINGS,
      });
      env.DATABASE_URL = pg.url;
      return { name: 'postgres', ...pg };
    },
    kafka: async () => {
      const kafka = await startKafka({ ...common, dataDir: dataDir('kafka') });
      env.KAFKA_BROKERS = kafka.brokers.join(',');
      return { name: 'kafka', ...kafka };
    },
    minio: async () => {
      const minio = await startMinio({ ...common, dataDir: dataDir('minio') });
      env.MINIO_ENDPOINT = minio.endpoint;
      env.MINIO_ACCESS_KEY = minio.accessKey;
      env.MINIO_SECRET_KEY = minio.secretKey;
      return { name: 'minio', ...minio };
    },
  };

  log(`starting ${names.join(', ')}…`);
  const results = await Promise.allSettled(names.map((name) => starters[name]()));
  const services = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stop = async () => {
    await Promise.all(services.map((service) => service.stop().catch(() => {})));
  };
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length > 0) {
    await stop();
    const message = failures.map((f) => (f instanceof Error ? f.message : String(f))).join('\n\n');
    throw new Error(`could not start the test services:\n${message}`);
  }
  if (names.length > 1) log(`services ready in ${seconds(started)}`);
  // Same order whatever finished first: postgres, kafka, minio.
  const keys = ['DATABASE_URL', 'KAFKA_BROKERS', 'MINIO_ENDPOINT', 'MINIO_ACCESS_KEY', 'MINIO_SECRET_KEY'];
  const ordered = Object.fromEntries(
    keys.filter((key) => env[key] !== undefined).map((key) => [key, env[key]!]),
  );
  return { env: ordered, services, stop };
}
