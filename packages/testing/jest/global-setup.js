// Jest globalSetup (referenced by jest.preset.js): starts the real services once per run, unless the env
// already points at them (DATABASE_URL, KAFKA_BROKERS, MINIO_ENDPOINT) or TRIBUTARY_TEST_SERVICES=none.
// Services left running by `pnpm services:up` are reused (TRIBUTARY_REUSE_SERVICES=0 turns that off).
// In a multi-project run every project's globalSetup is called in this same process; only the first starts
// anything. The connection details go to process.env, which the test workers inherit.
// It also makes the run's directory (TRIBUTARY_TEST_RUN_DIR), where the first test that needs Kubernetes
// starts the run's shared kube-apiserver (sharedKubeApiServer) for the other test files to reuse.
import { mkdtempSync, rmSync } from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';

const STATE = Symbol.for('tributary.testing.services');

export default async function globalSetup(_globalConfig, projectConfig) {
  // A project whose tests need no services (jest.preset.js `services: 'none'`) starts nothing; in a run
  // with other projects, theirs start what they need.
  if (projectConfig?.testEnvironmentOptions?.tributaryServices === 'none') return;
  globalThis[STATE] ??= { ready: undefined, running: undefined };
  const state = globalThis[STATE];
  state.ready ??= start(state);
  await state.ready;
}

async function start(state) {
  // src/index.ts imports @tributary/embedded: resolve it (and any workspace package) to its sources.
  module.register('./development-condition.js', import.meta.url);
  const { reuseSharedServices, servicesToStart, startServices, killSharedKubeApiServerSync } = await tsImport(
    '../src/index.ts',
    import.meta.url,
  );
  if (!process.env.TRIBUTARY_TEST_RUN_DIR) {
    const runDir = mkdtempSync(join(tmpdir(), 'tributary-run-'));
    process.env.TRIBUTARY_TEST_RUN_DIR = runDir;
    state.runDir = runDir;
    // The shared kube-apiserver runs detached (a worker started it): never leave it behind, also when
    // Jest is killed by a signal (turned into an exit, which runs this hook).
    process.once('exit', () => {
      killSharedKubeApiServerSync(runDir);
      rmSync(runDir, { recursive: true, force: true, maxRetries: 3 });
    });
    for (const [signal, number] of [
      ['SIGINT', 2],
      ['SIGTERM', 15],
      ['SIGHUP', 1],
    ]) {
      process.once(signal, () => process.exit(128 + number));
    }
  }
  reuseSharedServices(process.env);
  const names = servicesToStart(process.env);
  if (names.length === 0) return;
  // Jest killed by a signal (even while the services are still starting) never reaches globalTeardown:
  // exit instead, so the starters' process-exit hook SIGKILLs the services' process groups.
  for (const [signal, number] of [
    ['SIGINT', 2],
    ['SIGTERM', 15],
    ['SIGHUP', 1],
  ]) {
    process.once(signal, () => process.exit(128 + number));
  }
  const running = await startServices({ only: names });
  state.running = running;
  Object.assign(process.env, running.env);
}
