#!/usr/bin/env node
// Starts the host of one function: FUNCTION_PATH=./src/index.ts PORT=8080 tributary-function
import { basename, dirname } from 'node:path';
import { createLogger, Lifecycle, listen } from '@tributary/shared';
import { loadEnv } from './env.js';
import { createFunctionHost } from './host.js';
import { loadFunction } from './load.js';

if (process.argv.includes('--help')) {
  process.stdout.write(
    'usage: FUNCTION_PATH=<module> [FUNCTION_NAME=<name>] [PORT=8080] tributary-function\n' +
      'Hosts one function (export handle(context, event)) on POST /, with /health/readiness, /health/liveness and /metrics.\n',
  );
  process.exit(0);
}

const env = loadEnv();
const name = env.FUNCTION_NAME ?? basename(dirname(dirname(env.FUNCTION_PATH)));
const logger = createLogger({ name: `function-${name}`, level: env.LOG_LEVEL });
const lifecycle = new Lifecycle(logger);
lifecycle.installSignalHandlers();
try {
  const fn = await loadFunction(env.FUNCTION_PATH);
  await fn.init?.();
  if (fn.shutdown) lifecycle.add('function-shutdown', async () => void (await fn.shutdown?.()));
  const app = createFunctionHost({ name, fn, logger, coldStartSeconds: process.uptime() });
  const address = await listen(app, { port: env.PORT, host: env.HOST, lifecycle });
  // The local serving layer reads this line to learn the port when PORT=0.
  logger.info(
    { address, function: name, coldStartMs: Math.round(process.uptime() * 1000) },
    'function ready',
  );
} catch (err) {
  logger.fatal({ err }, 'function failed to start');
  await lifecycle.shutdown('start-failure');
  process.exit(1);
}
