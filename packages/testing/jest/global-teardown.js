// Jest globalTeardown: stops only what global-setup.js started in this process (idempotent, so the
// teardown of every project in a multi-project run may call it), and the run's shared kube-apiserver if a
// test started one.
import { rmSync } from 'node:fs';
import { tsImport } from 'tsx/esm/api';

const STATE = Symbol.for('tributary.testing.services');

export default async function globalTeardown() {
  const state = globalThis[STATE];
  const runDir = state?.runDir;
  if (runDir) {
    state.runDir = undefined;
    const { stopSharedKubeApiServer } = await tsImport('../src/index.ts', import.meta.url);
    if (await stopSharedKubeApiServer(runDir))
      process.stderr.write('[tributary-testing] kube-apiserver stopped\n');
    rmSync(runDir, { recursive: true, force: true });
  }
  const running = state?.running;
  if (!running) return;
  state.running = undefined;
  const started = Date.now();
  await running.stop();
  process.stderr.write(
    `[tributary-testing] services stopped in ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
  );
}
