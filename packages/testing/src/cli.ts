// `pnpm services:up` / `pnpm services:down`: one shared set of test services running in the background.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir, isAlive, stopProcessGroup } from '@tributary/embedded';
import { SERVICE_NAMES, type ServiceName, startServices } from './services.js';
import {
  envFile,
  isOurs,
  lockFile,
  readState,
  STOP_SIGNALS,
  type StateFile,
  stateFile,
} from './shared-services.js';

const USAGE_UP = `usage: pnpm services:up [--only postgres,kafka,minio]

Starts Postgres 17, Kafka (KRaft) and MinIO in the background on 127.0.0.1 (free ports), reusing the cached
Kafka jars and MinIO binary, and writes their connection details to
  ${join(cacheDir(), 'services.env')}
Use them from a shell with:
  set -a; . ${join(cacheDir(), 'services.env')}; set +a
Tests reuse running services:up services instead of starting their own (the Jest setup reads
services.pids.json; set TRIBUTARY_REUSE_SERVICES=0 to opt out).
If the services are already running, prints their details and does nothing else.
Stop them with \`pnpm services:down\`.`;

const USAGE_DOWN = `usage: pnpm services:down

Stops the services started by \`pnpm services:up\` (clean shutdown, then SIGKILL for their process groups),
deletes their data and removes ${join(cacheDir(), 'services.env')}.`;

function printDetails(state: StateFile): void {
  console.log(`\nServices (started ${state.startedAt}; data and logs in ${state.dataRoot}):`);
  for (const [key, value] of Object.entries(state.env)) console.log(`  ${key}=${value}`);
  console.log(`\nWritten to ${envFile()}; load it with:\n  set -a; . ${envFile()}; set +a`);
  console.log('Stop with: pnpm services:down');
}

function acquireLock(): () => void {
  mkdirSync(cacheDir(), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockFile(), 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lockFile(), { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(lockFile(), 'utf8'));
      if (owner && isAlive(owner)) {
        throw new Error(`another services:up/down (pid ${owner}) is running; wait for it to finish`);
      }
      unlinkSync(lockFile()); // left by a crashed run
    }
  }
  throw new Error(`could not take the lock ${lockFile()}`);
}

async function stopAll(state: StateFile): Promise<void> {
  await Promise.all(
    state.services.map(async (service) => {
      if (!isOurs(service)) return;
      console.log(`stopping ${service.name} (pid ${service.pid})…`);
      await stopProcessGroup(service.pid, { signal: STOP_SIGNALS[service.name], timeoutMs: 30_000 });
    }),
  );
  rmSync(state.dataRoot, { recursive: true, force: true });
  rmSync(envFile(), { force: true });
  rmSync(stateFile(), { force: true });
}

function parseOnly(args: string[]): ServiceName[] {
  const index = args.indexOf('--only');
  if (index === -1) return [...SERVICE_NAMES];
  const list = (args[index + 1] ?? '').split(',').map((s) => s.trim());
  for (const name of list) {
    if (!(SERVICE_NAMES as readonly string[]).includes(name)) {
      throw new Error(`--only: unknown service "${name}" (expected ${SERVICE_NAMES.join(', ')})`);
    }
  }
  return list as ServiceName[];
}

async function up(args: string[]): Promise<void> {
  const only = parseOnly(args);
  const release = acquireLock();
  try {
    const existing = readState();
    if (existing) {
      if (existing.services.every(isOurs)) {
        console.log('Services are already running.');
        printDetails(existing);
        return;
      }
      console.log('Some services from the last services:up are gone; restarting all of them.');
      await stopAll(existing);
    }
    const dataRoot = join(tmpdir(), `tributary-services-${process.getuid?.() ?? 'user'}`);
    rmSync(dataRoot, { recursive: true, force: true });
    mkdirSync(dataRoot, { recursive: true });
    const running = await startServices({ only, background: true, dataRoot });
    const state: StateFile = {
      startedAt: new Date().toISOString(),
      dataRoot,
      env: running.env,
      services: running.services.map(({ name, pid, dataDir, logFile }) => ({ name, pid, dataDir, logFile })),
    };
    writeFileSync(stateFile(), `${JSON.stringify(state, null, 2)}\n`);
    const lines = Object.entries(running.env).map(([key, value]) => `${key}=${value}`);
    writeFileSync(
      envFile(),
      `# Written by \`pnpm services:up\` at ${state.startedAt}; removed by \`pnpm services:down\`.\n${lines.join('\n')}\n`,
    );
    printDetails(state);
  } finally {
    release();
  }
}

async function down(): Promise<void> {
  const release = acquireLock();
  try {
    const state = readState();
    if (!state) {
      console.log('No services started by `pnpm services:up` are recorded; nothing to stop.');
      rmSync(envFile(), { force: true });
      return;
    }
    await stopAll(state);
    console.log('Services stopped.');
  } finally {
    release();
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  const help = args.includes('--help') || args.includes('-h');
  if (command === 'up') {
    if (help) console.log(USAGE_UP);
    else await up(args);
  } else if (command === 'down') {
    if (help) console.log(USAGE_DOWN);
    else await down();
  } else {
    console.log(`${USAGE_UP}\n\n${USAGE_DOWN}`);
    if (command !== '--help' && command !== '-h') process.exitCode = 2;
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
