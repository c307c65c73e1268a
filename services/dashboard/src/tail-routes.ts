import {
  type BrokerLog,
  compileTailFilter,
  TailFilterError,
  tailEvents,
  UnknownBrokerError,
} from '@tributary/eventing';
import { type CloudEvent, catalog, eventAttributes, type Logger } from '@tributary/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditLog } from './audit.js';
import { openSse, type SseClient, send } from './sse.js';

/**
 * A CloudEvent as JSON for the browser: attributes, and data (binary data as base64). Fields the catalog
 * marks secret are replaced by `[redacted]` (and counted in `redacted`) unless `reveal` is set.
 */
export function eventJson(
  e: CloudEvent<unknown>,
  reveal = false,
): {
  attributes: Record<string, unknown>;
  data: unknown;
  dataBase64?: string;
  redacted?: number;
} {
  const attributes = eventAttributes(e);
  delete attributes.data_base64;
  let data = e.data;
  if (!reveal && !(data instanceof Uint8Array)) {
    const r = catalog.redact(e.type, data);
    if (r.redacted > 0) return { attributes, data: r.data, redacted: r.redacted };
    data = r.data;
  }
  if (data instanceof Uint8Array) {
    return {
      attributes,
      data: null,
      dataBase64: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
    };
  }
  return { attributes, data: data ?? null };
}

export interface TailRouteOptions {
  log: BrokerLog | undefined;
  audit: AuditLog;
  logger: Logger;
  /** The open live-tail streams (closed when the server closes). */
  tails: Set<SseClient>;
  /** Events per second one live-tail stream sends at most; the rest are counted as skipped. */
  maxRate: number;
}

interface TailQuery {
  namespace?: string;
  broker?: string;
  filter?: string;
  from?: string;
  reveal?: string;
}

/** `/api/cesql` (filter check) and `/api/tail` (the live tail over SSE). */
export function registerTailRoutes(app: FastifyInstance, opts: TailRouteOptions): void {
  app.get<{ Querystring: { filter?: string } }>('/api/cesql', async (req, reply) => {
    try {
      compileTailFilter(req.query.filter);
      return { ok: true };
    } catch (err) {
      if (err instanceof TailFilterError) {
        return reply
          .status(400)
          .send({ ok: false, message: err.message.split('\n')[0], excerpt: err.excerpt });
      }
      throw err;
    }
  });

  app.get<{ Querystring: TailQuery }>('/api/tail', (req, reply) => openTail(opts, req, reply));
}

/** Checks the query, opens the tail on the broker log and starts streaming it to the browser. */
async function openTail(
  opts: TailRouteOptions,
  req: FastifyRequest<{ Querystring: TailQuery }>,
  reply: FastifyReply,
): Promise<unknown> {
  const { audit, tails } = opts;
  const log = opts.log;
  if (!log) {
    return reply
      .status(503)
      .send({ error: 'Service Unavailable', code: 'NO_LOG', message: 'no broker log configured' });
  }
  const { namespace, broker } = req.query;
  if (!namespace || !broker) {
    return reply.status(400).send({
      error: 'Bad Request',
      code: 'BROKER_REQUIRED',
      message: 'namespace and broker are required',
    });
  }
  try {
    compileTailFilter(req.query.filter);
  } catch (err) {
    if (err instanceof TailFilterError) {
      return reply
        .status(400)
        .send({ error: 'Bad Request', code: err.code, message: err.message, excerpt: err.excerpt });
    }
    throw err;
  }
  const { reveal } = req.query;
  if (reveal !== undefined && reveal !== 'secrets') {
    return reply.status(400).send({
      error: 'Bad Request',
      code: 'INVALID_REVEAL',
      message: 'reveal takes one value: "secrets" (show the fields the catalog marks secret)',
    });
  }
  const ac = new AbortController();
  let it: AsyncIterableIterator<CloudEvent<unknown>>;
  try {
    it = await tailEvents({
      log,
      broker: { namespace, name: broker },
      filter: req.query.filter,
      from: req.query.from === 'earliest' ? 'earliest' : 'latest',
      signal: ac.signal,
    });
  } catch (err) {
    if (err instanceof UnknownBrokerError) {
      return reply.status(404).send({ error: 'Not Found', code: err.code, message: err.message });
    }
    throw err;
  }
  // Secrets are shown only when asked for, and the asking is audit-logged.
  if (reveal) audit.record('tail.reveal-secrets', req as FastifyRequest, 200, undefined);
  const client = openSse(reply, tails);
  client.raw.on('close', () => ac.abort());
  send(client, 'ready', { namespace, broker, filter: req.query.filter ?? '' });
  void pumpTail(it, client, { maxRate: opts.maxRate, reveal: reveal === 'secrets', logger: opts.logger });
}

/**
 * Sends the tailed events to the browser, at most `maxRate` a second (the rest are counted and reported as
 * `skipped`), and closes the stream when the tail ends or fails.
 */
async function pumpTail(
  it: AsyncIterableIterator<CloudEvent<unknown>>,
  client: SseClient,
  { maxRate, reveal, logger }: { maxRate: number; reveal: boolean; logger: Logger },
): Promise<void> {
  let windowStart = Date.now();
  let sent = 0;
  let skipped = 0;
  try {
    for await (const e of it) {
      const now = Date.now();
      if (now - windowStart >= 1000) {
        if (skipped > 0) send(client, 'skipped', { count: skipped });
        windowStart = now;
        sent = 0;
        skipped = 0;
      }
      if (sent >= maxRate) {
        skipped++;
        continue;
      }
      sent++;
      send(client, 'cloudevent', eventJson(e, reveal));
    }
  } catch (err) {
    logger.warn({ err }, 'live tail failed');
    if (!client.raw.writableEnded) send(client, 'tail-error', { message: String(err) });
  } finally {
    client.close();
  }
}
