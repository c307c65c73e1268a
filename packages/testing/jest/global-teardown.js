// Jest globalTeardown: stops only what global-setup.js started in this process (idempotent, so the
// teardown of every project in a multi-project run may call it).
const STATE = Symbol.for('tributary.testing.services');

export default async function globalTeardown() {
  const state = globalThis[STATE];
  const running = state?.running;
  if (!running) return;
  state.running = undefined;
  const started = Date.now();
  await running.stop();
  process.stderr.write(
    `[tributary-testing] services stopped in ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
  );
}
