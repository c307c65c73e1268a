#!/usr/bin/env node
// Starts the host of one function: FUNCTION_PATH=./src/index.ts PORT=8080 tributary-function
import { basename, dirname } from 'node:path';
import { createLogger, Lifecycle, listen, loadServiceEnv } from '@tributary/shared';
import { loadEnv } from './env.js';
import { createFunctionHost } from './host.js';
import { loadFunction } from './load.js';

const usage =
  'usage: FUNCTION_PATH=<module> [FUNCTION_NAME=<name>] [PORT=8080] tributary-function\n' +
  'Hosts one function (export handle(context, event)) on POST /, with /health/readiness, /health/liveness and /metrics.';

/**
 * Stem-cell mode (TRIBUTARY_STEM_CELL=1, started by the local serving layer with an IPC channel): the
 * runtime and its dependencies are loaded ahead of time, but no function is. The process says
 * `stem-ready`, waits for `{ type: 'load', env }` naming the function, and only then loads it — the
 * prewarmed-container technique of OpenWhisk, so a cold start costs the function's own import + init.
 */
let loadStarted = 0;
if (process.env.TRIBUTARY_STEM_CELL === '1' && process.send) {
  const msg = await new Promise<{ type: string; env: Record<string, string> }>((resolve) => {
    process.on('message', (m: { type?: string; env?: Record<string, string> }) => {
      if (m?.type === 'load' && m.env) resolve(m as { type: string; env: Record<string, string> });
    });
    process.send?.({ type: 'stem-ready' });
  });
  loadStarted = performance.now();
  Object.assign(process.env, msg.env);
  delete process.env.TRIBUTARY_STEM_CELL;
}

const env = loadServiceEnv('tributary-function', usage, () => loadEnv());
const name = env.FUNCTION_NAME ?? basename(dirname(dirname(env.FUNCTION_PATH)));
const logger = createLogger({ name: `function-${name}`, level: env.LOG_LEVEL });
const lifecycle = new Lifecycle(logger);
lifecycle.installSignalHandlers();
try {
  const fn = await loadFunction(env.FUNCTION_PATH);
  await fn.init?.();
  if (fn.shutdown) lifecycle.add('function-shutdown', async () => void (await fn.shutdown?.()));
  const startSeconds = loadStarted ? (performance.now() - loadStarted) / 1000 : process.uptime();
  const app = createFunctionHost({ name, fn, logger, coldStartSeconds: startSeconds });
  const address = await listen(app, { port: env.PORT, host: env.HOST, lifecycle });
  // The local serving layer (which starts us with an IPC channel) learns our address from this message,
  // whatever the log level.
  process.send?.({ type: 'ready', address, coldStartMs: Math.round(startSeconds * 1000) });
  process.channel?.unref();
  logger.info(
    { address, function: name, coldStartMs: Math.round(startSeconds * 1000), prewarmed: loadStarted > 0 },
    'function ready',
  );
} catch (err) {
  logger.fatal({ err }, 'function failed to start');
  await lifecycle.shutdown('start-failure');
  process.exit(1);
}
