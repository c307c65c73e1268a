#!/usr/bin/env node
// Starts the host of one function: FUNCTION_PATH=./src/index.ts PORT=8080 tributary-function
import { basename, dirname } from 'node:path';
import {
  createCloudEvent,
  createLogger,
  encodeHttpBinary,
  Lifecycle,
  listen,
  loadServiceEnv,
} from '@tributary/shared';
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
  await warmUp();
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
  // Each phase of the start, in ms, logged with "function ready" (where a slow cold start goes).
  const phases: Record<string, number> = {};
  let mark = performance.now();
  const phase = (name: string) => {
    const now = performance.now();
    phases[name] = Math.round(now - mark);
    mark = now;
  };
  const fn = await loadFunction(env.FUNCTION_PATH);
  phase('import');
  await fn.init?.();
  phase('init');
  if (fn.shutdown) lifecycle.add('function-shutdown', async () => void (await fn.shutdown?.()));
  let coldStartSeconds: number | undefined;
  const app = createFunctionHost({ name, fn, logger, coldStartSeconds: () => coldStartSeconds });
  phase('host');
  const address = await listen(app, { port: env.PORT, host: env.HOST, lifecycle });
  phase('listen');
  // Cold start, up to listening: from when the activator asked for this instance (TRIBUTARY_COLD_START_AT,
  // epoch ms, so the activator reports this same figure); else from the load request (stem cell) or from
  // the process start.
  const requestedAt = env.TRIBUTARY_COLD_START_AT;
  coldStartSeconds =
    requestedAt !== undefined
      ? (performance.timeOrigin + performance.now() - requestedAt) / 1000
      : loadStarted
        ? (performance.now() - loadStarted) / 1000
        : process.uptime();
  const coldStartMs = Math.round(coldStartSeconds * 1000);
  // The local serving layer (which starts us with an IPC channel) learns our address from this message,
  // whatever the log level.
  process.send?.({ type: 'ready', address, coldStartMs });
  process.channel?.unref();
  logger.info(
    { address, function: name, coldStartMs, prewarmed: loadStarted > 0, phasesMs: phases },
    'function ready',
  );
} catch (err) {
  logger.fatal({ err }, 'function failed to start');
  await lifecycle.shutdown('start-failure');
  process.exit(1);
}

/**
 * A spare builds, starts and closes one throwaway host before it says it is ready: the first Fastify app,
 * metrics registry and listening socket of a process cost several times what later ones do (lazy
 * compilation of Fastify, avvio, find-my-way and prom-client), and a cold start should not pay that.
 */
async function warmUp(): Promise<void> {
  const silent = createLogger({ name: 'tributary-function-warmup', level: 'silent' });
  const app = createFunctionHost({ name: 'warmup', fn: { handle: () => undefined }, logger: silent });
  await app.listen({ port: 0, host: '127.0.0.1' });
  await app.inject({ method: 'GET', url: '/health/readiness' });
  // And one event through POST / (CloudEvent decoding, the handler call, the reply), the path of the first
  // event after a cold start.
  const { headers, body } = encodeHttpBinary(
    createCloudEvent({ id: 'warm-up', source: '/tributary/warm-up', type: 'dev.tributary.warmup', data: {} }),
  );
  await app.inject({ method: 'POST', url: '/', headers, payload: body });
  await app.close();
}
