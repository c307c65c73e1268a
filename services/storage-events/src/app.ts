import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, isRetriable } from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import { type StorageEventData, toCloudEvent } from './mapping.js';
import { parseNotificationBody } from './notification.js';

/** What the webhook needs from the broker: resolve only once the broker accepted every event. */
export interface EventSink {
  publish(events: CloudEvent<StorageEventData>[]): Promise<void>;
}

export interface BuildAppOptions {
  logger: Logger;
  /** STORAGE_EVENTS_TOKEN: MinIO sends `Authorization: Bearer <token>`. */
  token: string;
  sink: EventSink;
  registry?: Registry;
  readiness?: () => boolean | Promise<boolean>;
}

export const WEBHOOK_PATH = '/webhooks/minio';

export type RejectReason = 'unauthorized' | 'invalid_body' | 'publish_failed';

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time check of `Authorization: Bearer <token>` (hashes first, so lengths never leak). */
export function checkBearer(header: string | undefined, expectedDigest: Buffer): boolean {
  const m = /^Bearer[ \t]+(\S.*)$/i.exec(header ?? '');
  const presented = m?.[1]?.trim() ?? '';
  // Always compare, even when absent, so a missing header costs the same as a wrong one.
  const ok = timingSafeEqual(sha256(presented), expectedDigest);
  return ok && presented.length > 0;
}

/** Builds the storage-events server (does not listen). */
export function buildApp(opts: BuildAppOptions): FastifyInstance {
  const app = createServer({
    name: 'storage-events',
    logger: opts.logger,
    ...(opts.registry ? { registry: opts.registry } : {}),
    ...(opts.readiness ? { readiness: opts.readiness } : {}),
  });
  const registers = [app.metrics];
  const received = new Counter({
    name: 'storage_events_notifications_received_total',
    help: 'MinIO notifications received at the webhook (authorised or not)',
    registers,
  });
  const rejected = new Counter({
    name: 'storage_events_notifications_rejected_total',
    help: 'MinIO notifications answered with an error, by reason (unauthorized, invalid_body, publish_failed)',
    labelNames: ['reason'] as const,
    registers,
  });
  const published = new Counter({
    name: 'storage_events_events_published_total',
    help: 'CloudEvents the broker accepted, by type',
    labelNames: ['type'] as const,
    registers,
  });
  const publishLatency = new Histogram({
    name: 'storage_events_publish_duration_seconds',
    help: 'Time to get all CloudEvents of one notification accepted by the broker (including retries)',
    labelNames: ['outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  for (const reason of ['unauthorized', 'invalid_body', 'publish_failed'] as const)
    rejected.inc({ reason }, 0);

  const expected = sha256(opts.token);
  const log = opts.logger.child({ component: 'webhook' });

  const reject = (reply: FastifyReply, status: number, reason: RejectReason, message: string, extra = {}) => {
    rejected.inc({ reason });
    return reply.status(status).send({ error: reason, message, ...extra });
  };

  void app.register(async (scope) => {
    // MinIO posts application/json; accept any content type, and an empty body as a connectivity check.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body: Buffer, done) => {
      if (body.length === 0 || body.toString('utf8').trim() === '') {
        done(null, undefined);
        return;
      }
      try {
        done(null, JSON.parse(body.toString('utf8')));
      } catch (err) {
        const e = new Error(`body is not valid JSON: ${(err as Error).message}`) as Error & {
          statusCode: number;
        };
        e.statusCode = 400;
        done(e, undefined);
      }
    });

    scope.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      received.inc();
      // Checked before the body is read, so an unauthorised request costs no parsing.
      if (!checkBearer(req.headers.authorization, expected)) {
        log.warn(
          { ip: req.ip, hasAuthorization: Boolean(req.headers.authorization) },
          'unauthorized notification',
        );
        reply.header('www-authenticate', 'Bearer');
        return reject(reply, 401, 'unauthorized', 'missing or wrong bearer token');
      }
    });

    scope.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      if (status === 500) log.error({ err }, 'webhook failed');
      return reject(reply, status, status === 500 ? 'publish_failed' : 'invalid_body', err.message);
    });

    scope.post(WEBHOOK_PATH, async (req, reply) => {
      const parsed = parseNotificationBody(req.body);
      if (parsed.kind === 'ping') return reply.status(200).send({ published: 0, ids: [] });
      if (parsed.kind === 'invalid') {
        log.warn({ issues: parsed.issues }, 'invalid notification body');
        return reject(reply, 400, 'invalid_body', 'not an S3 notification', { issues: parsed.issues });
      }
      const events = parsed.notification.Records.map(toCloudEvent);
      if (events.length === 0) return reply.status(200).send({ published: 0, ids: [] });
      const started = process.hrtime.bigint();
      const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
      try {
        await opts.sink.publish(events);
      } catch (err) {
        publishLatency.observe({ outcome: 'error' }, seconds());
        // 5xx either way: MinIO keeps the event in queue_dir and retries (every 3 s), same record, same id.
        const retriable = isRetriable(err);
        log.error(
          { err, ids: events.map((e) => e.id), retriable, eventName: parsed.notification.EventName },
          'publishing to the broker failed; MinIO will redeliver',
        );
        return reject(reply, retriable ? 503 : 502, 'publish_failed', 'the broker did not accept the events');
      }
      publishLatency.observe({ outcome: 'ok' }, seconds());
      for (const e of events) published.inc({ type: e.type });
      log.debug({ ids: events.map((e) => e.id), key: parsed.notification.Key }, 'published');
      return reply.status(200).send({ published: events.length, ids: events.map((e) => e.id) });
    });
  });

  return app;
}
