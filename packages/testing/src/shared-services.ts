// The record `pnpm services:up` leaves behind, read by `services:down` and by the Jest global setup, which
// reuses the services when they are still running.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, commandLine, isAlive, type Log, stderrLog } from '@tributary/embedded';
import { SERVICE_ENV, SERVICE_VARS, type ServiceName, servicesToStart } from './services.js';

/** What `up` records so that `down` can stop exactly those processes. */
export interface StateFile {
  startedAt: string;
  dataRoot: string;
  env: Record<string, string>;
  services: { name: ServiceName; pid: number; dataDir: string; logFile: string }[];
}

export const envFile = () => join(cacheDir(), 'services.env');
export const stateFile = () => join(cacheDir(), 'services.pids.json');
export const lockFile = () => join(cacheDir(), 'services.lock');

/** Substrings of the command line that identify each server, so a recycled pid is never killed. */
const COMMAND_MARKERS: Record<ServiceName, string> = {
  postgres: 'postgres',
  kafka: 'kafka.Kafka',
  minio: 'minio',
};
export const STOP_SIGNALS: Record<ServiceName, NodeJS.Signals> = {
  postgres: 'SIGINT',
  kafka: 'SIGTERM',
  minio: 'SIGTERM',
};

export function readState(): StateFile | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(), 'utf8')) as StateFile;
  } catch {
    return undefined;
  }
}

export function isOurs(service: StateFile['services'][number]): boolean {
  if (!isAlive(service.pid)) return false;
  const cmd = commandLine(service.pid);
  return cmd === undefined || cmd.includes(COMMAND_MARKERS[service.name]);
}

/**
 * The connection details of the services started by `pnpm services:up`, if it recorded some and all of them
 * are still running; otherwise undefined.
 */
export function runningSharedServices(): { env: Record<string, string>; names: ServiceName[] } | undefined {
  const state = readState();
  if (!state || state.services.length === 0 || !state.services.every(isOurs)) return undefined;
  const names = state.services.map((s) => s.name);
  if (!names.every((name) => state.env[SERVICE_ENV[name]])) return undefined;
  return { env: state.env, names };
}

/**
 * For the Jest setup: points `env` at the `services:up` services for each service the run would otherwise
 * start, unless `TRIBUTARY_REUSE_SERVICES=0`. Returns the services reused. On a 2-core machine shared by
 * several engineers this saves starting a JVM and two servers per test run.
 */
export function reuseSharedServices(
  env: NodeJS.ProcessEnv = process.env,
  log: Log = stderrLog,
): ServiceName[] {
  if (env.TRIBUTARY_REUSE_SERVICES === '0') return [];
  const wanted = servicesToStart(env);
  if (wanted.length === 0) return [];
  const shared = runningSharedServices();
  if (!shared) return [];
  const reused = wanted.filter((name) => shared.names.includes(name));
  for (const name of reused) {
    for (const key of SERVICE_VARS[name]) {
      const value = shared.env[key];
      if (value !== undefined) env[key] = value;
    }
  }
  if (reused.length > 0) {
    log(
      `reusing ${reused.join(', ')} from \`pnpm services:up\` (${envFile()}); ` +
        'set TRIBUTARY_REUSE_SERVICES=0 to start fresh ones',
    );
  }
  return reused;
}
