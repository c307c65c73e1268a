// Jest globalSetup (referenced by jest.preset.js): starts the real services once per run, unless the env
// already points at them (DATABASE_URL, KAFKA_BROKERS, MINIO_ENDPOINT) or TRIBUTARY_TEST_SERVICES=none.
// Services left running by `pnpm services:up` are reused (TRIBUTARY_REUSE_SERVICES=0 turns that off).
// In a multi-project run every project's globalSetup is called in this same process; only the first starts
// anything. The connection details go to process.env, which the test workers inherit.
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
  const { reuseSharedServices, servicesToStart, startServices } = await tsImport(
    '../src/index.ts',
    import.meta.url,
  );
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
