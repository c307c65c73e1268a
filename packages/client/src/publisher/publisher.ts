/**
 * The publisher SDK: sends CloudEvents to a broker ingress (or any CloudEvents HTTP sink, e.g. `K_SINK`) over
 * keep-alive HTTP (an undici `Pool`), retrying what can succeed later with exponential backoff and jitter.
 *
 * Retried, as the Knative data plane does: network errors, timeouts, 5xx, 404, 408, 409 and 429. Any other
 * non-2xx answer is a rejection: `PublishRejectedError` carries the status and the response body (the
 * broker's 400 says why the event is invalid). Once retries run out: `PublishFailedError` (retriable).
 */
import { Pool } from 'undici';
import { InvalidCloudEventError } from '../cloudevents/errors.js';
import { type CloudEventLike, cloudEventIssues } from '../cloudevents/event.js';
import {
  encodeHttpBatch,
  encodeHttpBinary,
  encodeHttpStructured,
  type HttpMessage,
} from '../cloudevents/http.js';
import { NonRetriableError, TributaryError } from '../errors.js';
import { redactUrl } from '../redact-url.js';

export type PublishMode = 'binary' | 'structured' | 'batch';

/** What the publisher logs through: a pino `Logger` fits, as does anything with these two methods. */
export interface PublisherLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface PublisherOptions {
  /** Where to POST events: the broker ingress `http://host/<namespace>/<broker>`, or `K_SINK`. */
  url: string;
  /** Bearer token for the `Authorization` header (a function is called per request, for rotating JWTs). */
  token?: string | (() => string | Promise<string>);
  /** HTTP content mode. Default `binary` (what Knative sends); `batch` sends arrays in one request. */
  mode?: PublishMode;
  /** Per-attempt timeout, from sending the request to reading the whole response. Default 10 000 ms. */
  timeoutMs?: number;
  /** Retries after the first attempt for retryable outcomes. Default 5. */
  retries?: number;
  /** First backoff delay; doubles per retry. Default 100 ms. */
  minBackoffMs?: number;
  /** Cap on one backoff delay (also caps a server's `Retry-After`). Default 10 000 ms. */
  maxBackoffMs?: number;
  /** Batch mode: most events per request; bigger arrays go in several requests, in order. Default 100. */
  maxBatchSize?: number;
  /** Keep-alive connections to the sink. Default 8. */
  connections?: number;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Check each event's attributes before sending (throws `InvalidCloudEventError`). Default true. */
  validate?: boolean;
  /** Debug/warn logs for retries. */
  logger?: PublisherLogger;
}

export interface PublishOptions {
  /** Aborts the publish (in-flight request and backoff waits); it then rejects with `PublishFailedError`. */
  signal?: AbortSignal;
}

export interface Publisher {
  /**
   * Sends one event or an array of events; resolves once the sink has accepted all of them (2xx). An array is
   * published in order: one request per event in binary/structured mode, `maxBatchSize` per request in batch mode.
   */
  publish(events: CloudEventLike | readonly CloudEventLike[], options?: PublishOptions): Promise<void>;
  /** Stops pending retries and closes the keep-alive connections (after in-flight requests finish). */
  close(): Promise<void>;
}

/** The sink refused the event(s) with a non-retryable status (e.g. 400 invalid event, 401, 403, 413). */
export class PublishRejectedError extends NonRetriableError {
  readonly status: number;
  /** The response body, as text (truncated to 64 KiB). */
  readonly body: string;
  readonly eventIds: readonly string[];

  constructor(status: number, body: string, eventIds: readonly string[]) {
    const detail = body.trim() === '' ? '' : `: ${body.trim().slice(0, 500)}`;
    super(`sink rejected ${describeIds(eventIds)} with HTTP ${status}${detail}`, {
      code: 'PUBLISH_REJECTED',
      statusCode: status >= 400 && status < 500 ? status : 400,
    });
    this.status = status;
    this.body = body;
    this.eventIds = eventIds;
  }
}

/** Every attempt failed with a retryable outcome (or the publish was aborted); retrying later may succeed. */
export class PublishFailedError extends TributaryError {
  /** Status of the last answer, when there was one. */
  readonly status: number | undefined;
  readonly body: string | undefined;
  readonly attempts: number;
  readonly eventIds: readonly string[];

  constructor(
    message: string,
    details: {
      status?: number;
      body?: string;
      attempts: number;
      eventIds: readonly string[];
      cause?: unknown;
    },
  ) {
    super(message, { code: 'PUBLISH_FAILED', cause: details.cause });
    this.status = details.status;
    this.body = details.body;
    this.attempts = details.attempts;
    this.eventIds = details.eventIds;
  }
}

function describeIds(ids: readonly string[]): string {
  if (ids.length === 1) return `event ${ids[0]}`;
  const shown = ids.slice(0, 3).join(', ');
  return `${ids.length} events (${shown}${ids.length > 3 ? ', …' : ''})`;
}

/**
 * Status codes worth retrying, per the Knative data-plane spec ("Event Acknowledgement and Delivery
 * Retry") as the Kafka broker implements it: 5xx, 404, 408, 409, 429. Transport errors and timeouts
 * are retried too. Every other non-2xx (including 3xx) fails at once. The broker's dispatcher uses the same rule.
 */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 404 || status === 408 || status === 409 || status === 429;
}

/** Exponential backoff with jitter: attempt 1 -> [min/2, min], doubling, capped at max. */
export function backoffDelay(
  retry: number,
  minMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(maxMs, minMs * 2 ** Math.max(0, retry - 1));
  return Math.round(exp / 2 + (random() * exp) / 2);
}

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (v === undefined) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const MAX_ERROR_BODY = 64 * 1024;

async function readText(body: AsyncIterable<Buffer | Uint8Array>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < MAX_ERROR_BODY) {
      const b = Buffer.from(chunk);
      chunks.push(b);
      size += b.length;
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY).toString('utf8');
}

type Attempt =
  | { kind: 'ok' }
  | { kind: 'reject'; status: number; body: string }
  | { kind: 'retry'; status?: number; body?: string; error?: unknown; retryAfter?: number };

/** The publisher's options with their defaults applied. */
interface Settings {
  mode: PublishMode;
  timeoutMs: number;
  retries: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  maxBatchSize: number;
  validate: boolean;
  logger: PublisherLogger | undefined;
  /** Path and query of the sink URL (the pool holds its origin). */
  path: string;
  /** The sink URL without credentials, for logs. */
  sinkForLogs: string;
  headers: Record<string, string> | undefined;
  token: PublisherOptions['token'];
}

/** One open publisher: its settings, its keep-alive pool and whether it was closed. */
interface PublisherState {
  settings: Settings;
  pool: Pool;
  closing: AbortController;
  closed: boolean;
}

export function createPublisher(options: PublisherOptions): Publisher {
  const target = new URL(options.url);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new TypeError(`publisher url must be http(s), got ${redactUrl(options.url)}`);
  }
  const settings = resolveSettings(options, target);
  const state: PublisherState = {
    settings,
    pool: new Pool(target.origin, {
      connections: options.connections ?? 8,
      keepAliveTimeout: 30_000,
      // Our own per-attempt timeout (AbortSignal) governs; these only stop a stuck socket sooner.
      headersTimeout: settings.timeoutMs,
      bodyTimeout: settings.timeoutMs,
    }),
    closing: new AbortController(),
    closed: false,
  };
  return {
    async publish(input, publishOptions = {}) {
      if (state.closed)
        throw new PublishFailedError('the publisher is closed', { attempts: 0, eventIds: [] });
      const events: readonly CloudEventLike[] = Array.isArray(input) ? input : [input as CloudEventLike];
      if (events.length === 0) return;
      if (settings.validate) checkEvents(events);
      for (const { msg, ids } of requestsFor(events, settings))
        await send(state, msg, ids, publishOptions.signal);
    },
    async close() {
      if (state.closed) return;
      state.closed = true;
      state.closing.abort(new Error('publisher closed'));
      await state.pool.close();
    },
  };
}

function resolveSettings(options: PublisherOptions, target: URL): Settings {
  return {
    mode: options.mode ?? 'binary',
    timeoutMs: options.timeoutMs ?? 10_000,
    retries: options.retries ?? 5,
    minBackoffMs: options.minBackoffMs ?? 100,
    maxBackoffMs: options.maxBackoffMs ?? 10_000,
    maxBatchSize: Math.max(1, options.maxBatchSize ?? 100),
    validate: options.validate ?? true,
    logger: options.logger,
    path: `${target.pathname}${target.search}`,
    sinkForLogs: redactUrl(options.url),
    headers: options.headers,
    token: options.token,
  };
}

/** Throws `InvalidCloudEventError` listing every attribute problem of the events. */
function checkEvents(events: readonly CloudEventLike[]): void {
  const issues: string[] = [];
  events.forEach((e, i) => {
    for (const issue of cloudEventIssues(e)) issues.push(events.length > 1 ? `event[${i}]: ${issue}` : issue);
  });
  if (issues.length > 0) throw new InvalidCloudEventError(issues);
}

/** The requests that publish `events`, in order: one per event, or `maxBatchSize` per request in batch mode. */
function* requestsFor(
  events: readonly CloudEventLike[],
  { mode, maxBatchSize }: Settings,
): Generator<{ msg: HttpMessage; ids: string[] }> {
  if (mode === 'batch') {
    for (let i = 0; i < events.length; i += maxBatchSize) {
      const chunk = events.slice(i, i + maxBatchSize);
      yield { msg: encodeHttpBatch(chunk), ids: chunk.map((e) => String(e.id)) };
    }
    return;
  }
  for (const event of events) {
    const msg = mode === 'structured' ? encodeHttpStructured(event) : encodeHttpBinary(event);
    yield { msg, ids: [String(event.id)] };
  }
}

async function headersFor(settings: Settings, msg: HttpMessage): Promise<Record<string, string>> {
  const headers: Record<string, string> = { ...settings.headers, ...msg.headers };
  if (settings.token !== undefined) {
    const token = typeof settings.token === 'function' ? await settings.token() : settings.token;
    if (token) headers.authorization = `Bearer ${token}`;
  }
  return headers;
}

/** One POST of `msg`, classified: accepted, rejected for good, or worth retrying. */
async function attempt(
  { settings, pool }: PublisherState,
  msg: HttpMessage,
  signal: AbortSignal,
): Promise<Attempt> {
  const { timeoutMs } = settings;
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = AbortSignal.any([timeout, signal]);
  try {
    const res = await pool.request({
      method: 'POST',
      path: settings.path,
      headers: await headersFor(settings, msg),
      body: msg.body,
      signal: combined,
    });
    const status = res.statusCode;
    if (status >= 200 && status < 300) {
      await res.body.dump();
      return { kind: 'ok' };
    }
    const body = await readText(res.body);
    if (isRetryableStatus(status)) {
      return { kind: 'retry', status, body, retryAfter: retryAfterMs(res.headers['retry-after']) };
    }
    return { kind: 'reject', status, body };
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (timeout.aborted) {
      return {
        kind: 'retry',
        error: new TributaryError(`no answer within ${timeoutMs} ms`, {
          code: 'PUBLISH_TIMEOUT',
          cause: error,
        }),
      };
    }
    return { kind: 'retry', error };
  }
}

/** Sends `msg` until it is accepted, rejected, the retries run out, or the publish is aborted. */
async function send(
  state: PublisherState,
  msg: HttpMessage,
  ids: readonly string[],
  userSignal?: AbortSignal,
): Promise<void> {
  const { retries, minBackoffMs, maxBackoffMs, logger, sinkForLogs } = state.settings;
  const signal = userSignal ? AbortSignal.any([userSignal, state.closing.signal]) : state.closing.signal;
  let last: Extract<Attempt, { kind: 'retry' }> | undefined;
  for (let n = 0; n <= retries; n++) {
    if (n > 0) {
      const delay = Math.max(
        backoffDelay(n, minBackoffMs, maxBackoffMs),
        Math.min(last?.retryAfter ?? 0, maxBackoffMs),
      );
      logger?.debug(
        { sink: sinkForLogs, retry: n, delayMs: delay, status: last?.status, err: last?.error },
        'publish failed; retrying',
      );
      try {
        await sleep(delay, signal);
      } catch (reason) {
        throw aborted(state, reason, n, ids, last);
      }
    }
    let result: Attempt;
    try {
      result = await attempt(state, msg, signal);
    } catch (reason) {
      throw aborted(state, reason, n + 1, ids, last);
    }
    if (result.kind === 'ok') return;
    if (result.kind === 'reject') throw new PublishRejectedError(result.status, result.body, ids);
    last = result;
  }
  const what =
    last?.status !== undefined
      ? `HTTP ${last.status}`
      : String((last?.error as Error | undefined)?.message ?? last?.error);
  logger?.warn(
    { sink: sinkForLogs, attempts: retries + 1, status: last?.status, err: last?.error },
    'publish gave up',
  );
  throw new PublishFailedError(
    `publishing ${describeIds(ids)} failed after ${retries + 1} attempts: ${what}`,
    {
      status: last?.status,
      body: last?.body,
      attempts: retries + 1,
      eventIds: ids,
      cause: last?.error,
    },
  );
}

function aborted(
  state: PublisherState,
  reason: unknown,
  attempts: number,
  ids: readonly string[],
  last: Extract<Attempt, { kind: 'retry' }> | undefined,
): PublishFailedError {
  const why = state.closed ? 'the publisher was closed' : 'the publish was aborted';
  return new PublishFailedError(`publishing ${describeIds(ids)} stopped: ${why}`, {
    status: last?.status,
    body: last?.body,
    attempts,
    eventIds: ids,
    cause: reason,
  });
}
