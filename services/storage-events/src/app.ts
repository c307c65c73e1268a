import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, isRetriable, jsonTooDeep, jsonTooDeepMessage } from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import { type DeadLetterSink, wrapUnpublishable } from './dead-letters.js';
import { type StorageEventData, toCloudEvent } from './mapping.js';
import { STORAGE_EVENTS_METRICS } from './metric-names.js';
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
  /**
   * Where events the broker refuses for good (4xx) are recorded before the notification is answered 2xx, so
   * MinIO's queue moves on (see dead-letters.ts). Without one such a notification is answered 422 and MinIO
   * keeps retrying it.
   */
  deadLetters?: DeadLetterSink | undefined;
  /** The broker URL, named in dead letters as `knativeerrordest`. */
  sinkUrl?: string | undefined;
}

export const WEBHOOK_PATH = '/webhooks/minio';

export type RejectReason = 'unauthorized' | 'invalid_body' | 'publish_failed' | 'unpublishable';

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
    name: STORAGE_EVENTS_METRICS.received.name,
    help: 'MinIO notifications received at the webhook (authorised or not)',
    registers,
  });
  const rejected = new Counter({
    name: STORAGE_EVENTS_METRICS.rejected.name,
    help: 'MinIO notifications answered with an error, by reason (unauthorized, invalid_body, publish_failed)',
    labelNames: STORAGE_EVENTS_METRICS.rejected.labels,
    registers,
  });
  const published = new Counter({
    name: STORAGE_EVENTS_METRICS.published.name,
    help: 'CloudEvents the broker accepted, by type',
    labelNames: STORAGE_EVENTS_METRICS.published.labels,
    registers,
  });
  const publishLatency = new Histogram({
    name: STORAGE_EVENTS_METRICS.publishDuration.name,
    help: 'Time to get all CloudEvents of one notification accepted by the broker (including retries)',
    labelNames: STORAGE_EVENTS_METRICS.publishDuration.labels,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const deadLettered = new Counter({
    name: STORAGE_EVENTS_METRICS.deadLetters.name,
    help: 'CloudEvents that can never be published (refused by the broker, or unmappable), recorded as dead letters',
    labelNames: STORAGE_EVENTS_METRICS.deadLetters.labels,
    registers,
  });
  for (const reason of ['unauthorized', 'invalid_body', 'publish_failed', 'unpublishable'] as const)
    rejected.inc({ reason }, 0);
  for (const reason of ['refused', 'unmappable'] as const) deadLettered.inc({ reason }, 0);

  const expected = sha256(opts.token);
  const log = opts.logger.child({ component: 'webhook' });

  const reject = (reply: FastifyReply, status: number, reason: RejectReason, message: string, extra = {}) => {
    rejected.inc({ reason });
    return reply.status(status).send({ error: reason, message, ...extra });
  };

  const ctx: WebhookContext = { opts, log, reject, published, publishLatency, deadLettered };
  void app.register(async (scope) => {
    // No per-request child logger (Fastify's default binds a reqId to a new pino child, with redaction, for
    // every request): the webhook logs through `log`, and only on errors.
    scope.setChildLoggerFactory((parent) => parent);
    // MinIO posts application/json; accept any content type, and an empty body as a connectivity check.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, parseJsonBody);

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

    scope.post(WEBHOOK_PATH, (req, reply) => handleNotification(ctx, req.body, reply));
  });

  return app;
}

/** What the webhook's steps share. */
interface WebhookContext {
  opts: BuildAppOptions;
  log: Logger;
  reject: (
    reply: FastifyReply,
    status: number,
    reason: RejectReason,
    message: string,
    extra?: object,
  ) => FastifyReply;
  published: Counter<'type'>;
  publishLatency: Histogram<'outcome'>;
  deadLettered: Counter<'reason'>;
}

/** The body as JSON (400 when it is not, or too deep); an empty body is a connectivity check (`undefined`). */
function parseJsonBody(
  _req: FastifyRequest,
  body: Buffer,
  done: (err: Error | null, body?: unknown) => void,
): void {
  const text = body.toString('utf8'); // decoded once
  if (text.trim() === '') {
    done(null, undefined);
    return;
  }
  if (jsonTooDeep(body)) {
    const e = new Error(jsonTooDeepMessage()) as Error & { statusCode: number };
    e.statusCode = 400;
    done(e, undefined);
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const e = new Error(`body is not valid JSON: ${(err as Error).message}`) as Error & {
      statusCode: number;
    };
    e.statusCode = 400;
    done(e, undefined);
    return;
  }
  // Outside the try: the route runs inside `done`, and its errors are not the body's.
  done(null, parsed);
}

/**
 * `POST /webhooks/minio`: maps the notification's records to CloudEvents (a record that cannot be mapped
 * becomes a dead letter), publishes them, and answers 2xx only once the broker (or the dead-letter sink) has
 * every one of them.
 */
async function handleNotification(
  ctx: WebhookContext,
  body: unknown,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const { log, reject } = ctx;
  const parsed = parseNotificationBody(body);
  if (parsed.kind === 'ping') return reply.status(200).send({ published: 0, ids: [] });
  if (parsed.kind === 'invalid') {
    log.warn({ issues: parsed.issues }, 'invalid notification body');
    return reject(reply, 400, 'invalid_body', 'not an S3 notification', { issues: parsed.issues });
  }
  const { events, unmappable } = mapRecords(parsed.notification.Records);
  if (unmappable.length > 0) {
    const recorded = await recordDeadLetters(ctx, reply, unmappable, 'unmappable', {
      destination: 'storage-events',
      message: 'the notification record could not be mapped to a CloudEvent',
    });
    if (recorded) return recorded;
  }
  if (events.length === 0) {
    return reply.status(200).send({
      published: 0,
      ...(unmappable.length > 0 ? { deadLettered: unmappable.length } : {}),
      ids: [],
    });
  }
  return publishNotification(ctx, reply, parsed.notification, events, unmappable.length);
}

/** A record the mapping cannot turn into an event is unpublishable as it is: a dead letter wrapping it. */
function mapRecords(records: Parameters<typeof toCloudEvent>[0][]): {
  events: CloudEvent<StorageEventData>[];
  unmappable: CloudEvent<unknown>[];
} {
  const events: CloudEvent<StorageEventData>[] = [];
  const unmappable: CloudEvent<unknown>[] = [];
  for (const record of records) {
    try {
      events.push(toCloudEvent(record));
    } catch (err) {
      const why = `not mappable to a CloudEvent: ${err instanceof Error ? err.message : String(err)}`;
      unmappable.push(wrapUnpublishable({ record }, why));
    }
  }
  return { events, unmappable };
}

/**
 * Publishes the notification's events: 200 once the broker took them all; 503 when it may take them later
 * (MinIO keeps the notification in its queue_dir and retries it: same record, same ids); dead letters when
 * it refused them for good.
 */
async function publishNotification(
  ctx: WebhookContext,
  reply: FastifyReply,
  notification: { EventName?: string | undefined; Key?: string | undefined },
  events: CloudEvent<StorageEventData>[],
  unmappable: number,
): Promise<FastifyReply> {
  const { opts, log, reject, publishLatency, published } = ctx;
  const started = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  try {
    await opts.sink.publish(events);
  } catch (err) {
    publishLatency.observe({ outcome: 'error' }, seconds());
    const retriable = isRetriable(err);
    if (retriable) {
      // The broker may take it later: 503, and MinIO keeps the event in queue_dir and retries (every
      // 3 s), same record, same id.
      log.error(
        { err, ids: events.map((e) => e.id), eventName: notification.EventName },
        'publishing to the broker failed; MinIO will redeliver',
      );
      return reject(reply, 503, 'publish_failed', 'the broker did not accept the events; retry later');
    }
    // The broker refused them for good: record them as dead letters, then let MinIO move on.
    const status = (err as { status?: unknown }).status;
    const recorded = await recordDeadLetters(ctx, reply, events, 'refused', {
      destination: opts.sinkUrl ?? 'broker',
      status: typeof status === 'number' ? status : undefined,
      message: err instanceof Error ? err.message : String(err),
    });
    if (recorded) return recorded;
    return reply.status(200).send({
      published: 0,
      deadLettered: events.length + unmappable,
      ids: events.map((e) => e.id),
    });
  }
  publishLatency.observe({ outcome: 'ok' }, seconds());
  for (const e of events) published.inc({ type: e.type });
  log.debug({ ids: events.map((e) => e.id), key: notification.Key }, 'published');
  return reply.status(200).send({
    published: events.length,
    ...(unmappable > 0 ? { deadLettered: unmappable } : {}),
    ids: events.map((e) => e.id),
  });
}

/** Records `events` as dead letters; returns the error answer when that is impossible. */
async function recordDeadLetters(
  { opts, log, reject, deadLettered }: WebhookContext,
  reply: FastifyReply,
  events: CloudEvent<unknown>[],
  reason: 'refused' | 'unmappable',
  failure: { destination: string; status?: number | undefined; message: string },
): Promise<FastifyReply | undefined> {
  const ids = events.map((e) => e.id);
  if (!opts.deadLetters) {
    log.error(
      { ids, reason, why: failure.message },
      'events can never be published and no dead-letter sink is set (STORAGE_EVENTS_DEAD_LETTER_SINK): MinIO will retry them',
    );
    return reject(reply, 422, 'unpublishable', `the events can never be published: ${failure.message}`);
  }
  try {
    await opts.deadLetters.record(events, failure);
  } catch (err) {
    log.error({ err, ids }, 'could not record dead letters; MinIO will redeliver');
    return reject(reply, 503, 'publish_failed', 'the dead-letter sink did not take the events; retry later');
  }
  deadLettered.inc({ reason }, events.length);
  log.warn(
    { ids, reason, why: failure.message.slice(0, 500) },
    'recorded unpublishable events as dead letters',
  );
  return undefined;
}
