import {
  createServer,
  decodeHttp,
  type ErrorBody,
  encodeHttpBinary,
  isErrorCode,
  isJsonContentType,
  jsonTooDeep,
  jsonTooDeepMessage,
  type Logger,
} from '@tributary/shared';
import { CloudEvent } from 'cloudevents';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { FUNCTION_METRICS } from './metric-names.js';
import type { Context, FunctionModule } from './types.js';

export interface FunctionHostOptions {
  name: string;
  fn: FunctionModule;
  logger: Logger;
  registry?: Registry;
  /**
   * Seconds the cold start took, reported as `function_cold_start_seconds`: a number, or a getter read at
   * each scrape (the figure is known only once the host listens).
   */
  coldStartSeconds?: number | (() => number | undefined);
}

interface HostMetrics {
  invocations: Counter<'function' | 'outcome'>;
  latency: Histogram<'function' | 'outcome'>;
  inFlight: Gauge<'function'>;
  coldStart: Gauge<'function'>;
}

/**
 * Builds (does not listen) the HTTP host of one function. `POST /` takes a CloudEvent in binary or
 * structured mode and answers per DESIGN.md §5: a returned CloudEvent -> 200 binary reply; nothing -> 204;
 * data failing the function's `schema` or a thrown non-retriable error -> 400 (the broker does not retry);
 * anything else thrown -> 500 (the broker retries).
 */
export function createFunctionHost(opts: FunctionHostOptions): FastifyInstance {
  const { fn, name, logger } = opts;
  const state = { ready: false };
  const app = createServer({
    name: `function-${name}`,
    logger,
    registry: opts.registry,
    readiness: () => state.ready,
  });
  const m = createMetrics(app.metrics);
  reportColdStart(app, m, name, opts.coldStartSeconds);
  serveHealth(app, state);
  keepRawBody(app);
  const invocation: Invocation = { fn, name, logger, m };
  app.post('/', async (req, reply) => {
    const decoded = readEvent(invocation, req, reply);
    if ('refused' in decoded) return decoded.refused;
    const event = decoded.event;
    const invalid = checkSchema(invocation, event, reply);
    if (invalid) return invalid;
    return handle(invocation, event, req, reply);
  });
  return app;
}

interface Invocation {
  fn: FunctionModule;
  name: string;
  logger: Logger;
  m: HostMetrics;
}

/** Sets `function_cold_start_seconds`: once, or (for a getter) at each scrape of /metrics. */
function reportColdStart(
  app: FastifyInstance,
  m: HostMetrics,
  name: string,
  coldStart: FunctionHostOptions['coldStartSeconds'],
): void {
  if (typeof coldStart === 'number') m.coldStart.set({ function: name }, coldStart);
  else if (coldStart)
    app.addHook('onRequest', async (req) => {
      const seconds = req.url === '/metrics' ? coldStart() : undefined;
      if (seconds !== undefined) m.coldStart.set({ function: name }, seconds);
    });
}

/** Ready from `onReady` until `preClose`, served on the Knative Functions health endpoints. */
function serveHealth(app: FastifyInstance, state: { ready: boolean }): void {
  app.addHook('onReady', async () => {
    state.ready = true;
  });
  app.addHook('preClose', async () => {
    state.ready = false;
  });

  // Knative Functions health endpoints.
  app.get('/health/liveness', async () => 'OK');
  app.get('/health/readiness', async (_req, reply) =>
    reply.status(state.ready ? 200 : 503).send(state.ready ? 'OK' : 'NOT READY'),
  );
}

/** Keep the raw body: decodeHttp needs the bytes for binary-mode data of any content type. */
function keepRawBody(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
}

/** Decodes the one CloudEvent of the request (binary or structured mode), or refuses it with a 400. */
function readEvent(
  { name, m }: Invocation,
  req: FastifyRequest,
  reply: FastifyReply,
): { event: CloudEvent<unknown> } | { refused: FastifyReply } {
  const body = req.body as Buffer | undefined;
  const contentType = req.headers['content-type'];
  if (body && contentType && isJsonContentType(contentType) && jsonTooDeep(body)) {
    m.invocations.inc({ function: name, outcome: 'invalid' });
    return {
      refused: reply.status(400).send({
        error: 'Bad Request',
        code: 'JSON_TOO_DEEP',
        message: jsonTooDeepMessage(),
      } satisfies ErrorBody),
    };
  }
  let event: CloudEvent<unknown>;
  try {
    const events = decodeHttp(req.headers, (req.body as Buffer | undefined) ?? Buffer.alloc(0));
    if (events.length !== 1) {
      return {
        refused: reply.status(400).send({
          error: 'Bad Request',
          code: 'CLOUDEVENT_DECODE',
          message: 'expected exactly one CloudEvent',
        } satisfies ErrorBody),
      };
    }
    event = events[0]!;
  } catch (err) {
    m.invocations.inc({ function: name, outcome: 'invalid' });
    return {
      refused: reply.status(400).send({
        error: 'Bad Request',
        code: 'CLOUDEVENT_DECODE',
        message: (err as Error).message,
      } satisfies ErrorBody),
    };
  }
  return { event };
}

/** Refuses with a 400 (no retry) an event whose data does not match the function's `schema`. */
function checkSchema(
  { fn, name, m }: Invocation,
  event: CloudEvent<unknown>,
  reply: FastifyReply,
): FastifyReply | undefined {
  if (fn.schema) {
    const parsed = fn.schema.safeParse(event.data);
    if (!parsed.success) {
      m.invocations.inc({ function: name, outcome: 'invalid' });
      return reply.status(400).send({
        error: 'Bad Request',
        code: 'EVENT_SCHEMA',
        message: `event data does not match the schema of function ${name}`,
        issues: parsed.error.issues.map((i) => ({
          path: i.path.map(String).join('.'),
          message: i.message,
          code: i.code,
        })),
      } satisfies ErrorBody);
    }
  }
  return undefined;
}

/**
 * Runs the handler: a returned CloudEvent -> 200 binary reply; nothing -> 204; a thrown non-retriable error
 * -> 4xx; anything else thrown -> 500.
 */
async function handle(
  { fn, name, logger, m }: Invocation,
  event: CloudEvent<unknown>,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const log = logger.child({ function: name, ceid: event.id, cetype: event.type, cesource: event.source });
  const context: Context = {
    log,
    headers: req.headers,
    method: req.method,
    query: (req.query ?? {}) as Record<string, unknown>,
    body: event.data,
    cloudevent: event,
    functionName: name,
  };
  const end = m.latency.startTimer({ function: name });
  m.inFlight.inc({ function: name });
  try {
    const result = await fn.handle(context, event);
    if (result === undefined || result === null) {
      end({ outcome: 'ok' });
      m.invocations.inc({ function: name, outcome: 'ok' });
      return reply.status(204).send();
    }
    const replyEvent = result instanceof CloudEvent ? result : new CloudEvent(result as never);
    const { headers, body } = encodeHttpBinary(replyEvent);
    end({ outcome: 'reply' });
    m.invocations.inc({ function: name, outcome: 'reply' });
    return reply.status(200).headers(headers).send(body);
  } catch (err) {
    const e = err as Error & { retriable?: boolean; statusCode?: number; code?: string };
    const nonRetriable = e?.retriable === false || e?.name === 'NonRetriableError';
    const status = nonRetriable
      ? e.statusCode && e.statusCode >= 400 && e.statusCode < 500
        ? e.statusCode
        : 400
      : 500;
    end({ outcome: nonRetriable ? 'rejected' : 'error' });
    m.invocations.inc({ function: name, outcome: nonRetriable ? 'rejected' : 'error' });
    if (nonRetriable) log.warn({ err: e.message }, 'handler rejected the event (no retry)');
    else log.error({ err }, 'handler failed (the broker will retry)');
    return reply.status(status).send({
      error: nonRetriable ? 'Bad Request' : 'Internal Server Error',
      // Only catalogue codes leave the process: never a driver's (a Postgres SQLSTATE, ECONNREFUSED).
      code: isErrorCode(e?.code) ? e.code : nonRetriable ? 'NON_RETRIABLE' : 'HANDLER_ERROR',
      message: e?.message ?? String(err),
    } satisfies ErrorBody);
  } finally {
    m.inFlight.dec({ function: name });
  }
}

function createMetrics(registry: Registry): HostMetrics {
  return {
    invocations: new Counter({
      name: FUNCTION_METRICS.invocations.name,
      help: 'Function invocations by outcome (ok, reply, rejected, error, invalid)',
      labelNames: FUNCTION_METRICS.invocations.labels,
      registers: [registry],
    }),
    latency: new Histogram({
      name: FUNCTION_METRICS.execution.name,
      help: 'Handler execution time',
      labelNames: FUNCTION_METRICS.execution.labels,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: FUNCTION_METRICS.inFlight.name,
      help: 'Events being handled right now',
      labelNames: FUNCTION_METRICS.inFlight.labels,
      registers: [registry],
    }),
    coldStart: new Gauge({
      name: FUNCTION_METRICS.coldStart.name,
      help: 'Seconds from process start until the function was ready to take events',
      labelNames: FUNCTION_METRICS.coldStart.labels,
      registers: [registry],
    }),
  };
}
