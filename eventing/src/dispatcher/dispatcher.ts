import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type CloudEvent,
  decodeHttp,
  EXTENSION_NAME,
  encodeHeaderValue,
  encodeHttpBinary,
  isCloudEventResponse,
  isRetriable,
  type Logger,
} from '@tributary/shared';
import type { Dispatcher } from 'undici';
import type { EventPredicate } from '../filters/compile.js';
import { DEFAULT_TTL, stampReply, TTL_ATTRIBUTE, ttlOf } from '../ingress/ttl.js';
import type { BrokerLog, BrokerRef, LogRecord, LogSubscription } from '../log/types.js';
import type { DispatchMetrics } from '../metrics/dispatch.js';
import type { DeliveryOptions } from '../resources/delivery.js';
import type { DeliveryOrder, InitialOffset } from '../resources/types.js';
import { deadLetterRetryDelayMs, isRetryableStatus, retryDelayMs } from './backoff.js';
import { createHttpAgent, type HttpResult, postEvent, TransportError } from './http.js';
import { type OffsetToken, OffsetTracker } from './offsets.js';

/**
 * The dispatcher of one Trigger, with the Knative Kafka broker's delivery semantics:
 * - consumes the broker's log as consumer group `knative-trigger-<namespace>-<trigger>`;
 * - events the filter rejects are simply marked done;
 * - delivers in binary mode with `Prefer: reply` and `Kn-Namespace: <trigger namespace>`, a per-request `timeout`, and retries on transport
 *   errors, 5xx, 404, 408, 409 and 429 with the Kafka broker's delays (capped by `backoffMax`);
 * - on final failure sends the event to the dead-letter sink with `knativeerrordest`,
 *   `knativeerrorcode` and `knativeerrordata` (base64 of the first 1024 bytes of the response body), and
 *   keeps retrying a dead letter that cannot be delivered (never dropped); without a sink the event is
 *   dropped, as Knative does;
 * - a 2xx reply carrying a CloudEvent goes back into the broker, with `knativebrokerttl` decremented;
 * - `ordered`: one event at a time per partition, in log order (same key = same partition = same
 *   order); `unordered`: up to `maxInFlight` events in parallel;
 * - commits a partition's offset only over contiguous done events.
 */
export interface TriggerDispatcherOptions {
  log: BrokerLog;
  broker: BrokerRef;
  trigger: {
    namespace: string;
    name: string;
    groupId: string;
    initialOffset: InitialOffset;
    deliveryOrder: DeliveryOrder;
    delivery: DeliveryOptions;
    predicate: EventPredicate;
  };
  /** Resolved subscriber URL. */
  subscriberUrl: string;
  /** Resolved dead-letter sink URL, if any. */
  deadLetterUrl?: string | undefined;
  /** Bearer token for the dead-letter sink (see deadletters/auth.ts), fetched for every attempt round. */
  deadLetterToken?: (() => Promise<string>) | undefined;
  logger: Logger;
  metrics?: DispatchMetrics | undefined;
  /** Shared undici pool; one is created (and closed) per dispatcher otherwise. */
  agent?: Dispatcher | undefined;
  /** Unordered: events delivered in parallel; ordered: events buffered ahead. Default 100. */
  maxInFlight?: number;
  /** How often lag is read from the log for the gauges (ms, default 5000; 0 = never). */
  lagIntervalMs?: number;
  /** How long `close()` lets running requests finish before aborting them (ms, default 5000). */
  closeGraceMs?: number;
  /** `knativebrokerttl` assumed for events without one (default 255, as Knative's MT broker). */
  defaultTtl?: number;
}

/** The Kafka broker's KN_ERROR_DATA_MAX_BYTES. */
export const ERROR_DATA_MAX_BYTES = 1024;
/** Response headers `kne-<name>` become dead-letter extensions `<name>` (Kafka broker behaviour). */
const ERROR_HEADER_PREFIX = 'kne-';

class ShutdownError extends Error {
  constructor() {
    super('dispatcher closing');
    this.name = 'ShutdownError';
  }
}

type Token = OffsetToken;

interface Outcome {
  ok: boolean;
  result?: HttpResult;
  error?: Error;
}

export class TriggerDispatcher {
  private readonly opts: TriggerDispatcherOptions;
  private readonly labels: { namespace: string; broker: string; trigger: string };
  /** prom-client children for the per-event series (label hashing per event costs throughput). */
  private readonly hot: {
    inFlight?: { inc(): void; dec(): void };
    filtered?: { inc(): void };
    latency: Map<string, { observe(v: number): void }>;
    dispatched: Map<string, { inc(): void }>;
  } = { latency: new Map(), dispatched: new Map() };
  private readonly logger: Logger;
  private readonly agent: Dispatcher;
  private readonly ownsAgent: boolean;
  private readonly maxInFlight: number;
  private readonly tracker = new OffsetTracker();
  private readonly abort = new AbortController();
  private subscription: LogSubscription | undefined;
  private closing = false;
  private pending = 0;
  private readonly running = new Set<Promise<void>>();
  private capacityWaiters: (() => void)[] = [];
  private readonly queues = new Map<
    number,
    { items: { record: LogRecord; token: Token }[]; active: boolean }
  >();
  /** Last commit per partition, as `<tracker generation>/<next offset>`. */
  private committed = new Map<number, string>();
  private commitInFlight: Promise<void> | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private lagTimer: NodeJS.Timeout | undefined;

  constructor(opts: TriggerDispatcherOptions) {
    this.opts = opts;
    this.labels = { namespace: opts.trigger.namespace, broker: opts.broker.name, trigger: opts.trigger.name };
    this.logger = opts.logger.child({
      component: 'dispatcher',
      trigger: `${opts.trigger.namespace}/${opts.trigger.name}`,
    });
    this.ownsAgent = opts.agent === undefined;
    this.agent = opts.agent ?? createHttpAgent();
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 100);
    if (opts.metrics) {
      this.hot.inFlight = opts.metrics.inFlight.labels(this.labels);
      this.hot.filtered = opts.metrics.filtered.labels(this.labels);
    }
    // Every running request and retry wait listens to this one signal.
    setMaxListeners(0, this.abort.signal);
  }

  get groupId(): string {
    return this.opts.trigger.groupId;
  }

  /** Subscribes to the log and starts dispatching. */
  async start(): Promise<void> {
    this.subscription = await this.opts.log.subscribe(this.opts.broker, {
      groupId: this.opts.trigger.groupId,
      initialOffset: this.opts.trigger.initialOffset,
      onRecords: (records) => this.onRecords(records),
    });
    const every = this.opts.lagIntervalMs ?? 5000;
    if (every > 0 && this.opts.metrics) {
      this.lagTimer = setInterval(() => void this.updateLag(), every);
      this.lagTimer.unref();
    }
    this.logger.info(
      {
        subscriber: this.opts.subscriberUrl,
        order: this.opts.trigger.deliveryOrder,
        groupId: this.opts.trigger.groupId,
        initialOffset: this.opts.trigger.initialOffset,
      },
      'trigger dispatcher started',
    );
  }

  /**
   * Stops: no new events are taken, running deliveries get `closeGraceMs` to finish, then everything
   * still waiting (retries, dead letters) is abandoned uncommitted, to be redelivered to the group's
   * next subscriber. Progress is committed, then the subscription closes.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.lagTimer) clearInterval(this.lagTimer);
    for (const w of this.capacityWaiters.splice(0)) w();
    const grace = this.opts.closeGraceMs ?? 5000;
    if (this.running.size > 0) {
      const timer = sleep(grace, undefined, { ref: false }).then(() => this.abort.abort(new ShutdownError()));
      await Promise.race([Promise.allSettled([...this.running]), timer]);
    }
    this.abort.abort(new ShutdownError());
    await Promise.allSettled([...this.running]);
    if (this.commitTimer) clearTimeout(this.commitTimer);
    await this.flushCommits();
    await this.subscription?.close();
    if (this.ownsAgent) await this.agent.close();
    this.logger.info('trigger dispatcher stopped');
  }

  // --- intake -------------------------------------------------------------------------------------

  private async onRecords(records: LogRecord[]): Promise<void> {
    for (const record of records) {
      if (this.closing) return;
      const token = this.tracker.add(record.partition, record.offset);
      if (record.invalid) {
        // Never deliverable: commit past it (a restart would only read and skip it again), and say so.
        this.opts.metrics?.skipped.inc({ ...this.labels, reason: 'invalid' });
        this.logger.warn(
          { err: record.invalid, partition: record.partition, offset: record.offset },
          'skipping a record that is not a CloudEvent',
        );
        this.markDone(token);
        continue;
      }
      let matches: boolean;
      try {
        matches = this.opts.trigger.predicate(record.forward?.attributes ?? record.event);
      } catch (err) {
        this.logger.warn({ err, offset: record.offset }, 'filter failed; treating as not matching');
        matches = false;
      }
      if (!matches) {
        this.hot.filtered?.inc();
        this.markDone(token);
        continue;
      }
      while (this.pending >= this.maxInFlight && !this.closing) {
        await new Promise<void>((resolve) => this.capacityWaiters.push(resolve));
      }
      if (this.closing) return;
      this.pending++;
      if (this.opts.trigger.deliveryOrder === 'ordered') this.enqueueOrdered(record, token);
      else this.track(this.process(record, token));
    }
  }

  private enqueueOrdered(record: LogRecord, token: Token): void {
    let q = this.queues.get(record.partition);
    if (!q) {
      q = { items: [], active: false };
      this.queues.set(record.partition, q);
    }
    q.items.push({ record, token });
    if (!q.active) {
      q.active = true;
      this.track(this.drain(q));
    }
  }

  private async drain(q: { items: { record: LogRecord; token: Token }[]; active: boolean }): Promise<void> {
    try {
      while (q.items.length > 0 && !this.closing) {
        const next = q.items.shift() as { record: LogRecord; token: Token };
        // Queued before the partition rewound (a replay): the log hands it over again, in order, after
        // the records before it; delivering this copy now would put it ahead of them.
        if (!this.tracker.isCurrent(next.token)) {
          this.release();
          continue;
        }
        await this.process(next.record, next.token);
      }
    } finally {
      q.active = false;
      if (this.closing) this.pending -= q.items.splice(0).length;
    }
  }

  private track(p: Promise<void>): void {
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  // --- one event ----------------------------------------------------------------------------------

  private async process(record: LogRecord, token: Token): Promise<void> {
    this.hot.inFlight?.inc();
    try {
      try {
        await this.deliver(record);
      } catch (err) {
        if (err instanceof ShutdownError) throw err;
        // Unexpected (not a delivery failure, which `deliver` handles): leaving the record uncommitted would
        // freeze its partition's commit point until a restart, which would fail the same way. It is skipped
        // (dead-lettered when the Trigger has a sink), counted and logged.
        await this.undeliverable(record, err);
      }
      this.markDone(token);
    } catch (err) {
      if (!(err instanceof ShutdownError)) {
        this.logger.error({ err, partition: record.partition, offset: record.offset }, 'dispatch failed');
      }
    } finally {
      this.hot.inFlight?.dec();
      this.release();
    }
  }

  /** One event less in flight: wakes intake waiting for room. */
  private release(): void {
    this.pending--;
    const w = this.capacityWaiters.shift();
    if (w) w();
  }

  private async deliver(record: LogRecord): Promise<void> {
    let headers: Record<string, string>;
    let body: Buffer;
    let attributes: object;
    const fwd = record.forward;
    if (fwd) {
      // The log's HTTP form of the record: ce_ headers become ce- headers, the value is the body, as is.
      ({ headers, body } = fwd.message);
      attributes = fwd.attributes;
    } else {
      const event = record.event;
      ({ headers, body } = encodeHttpBinary(event));
      // The broker's loop guard is its own business (MT broker filter: DeleteTTL before sending).
      delete headers[`ce-${TTL_ATTRIBUTE}`];
      attributes = event;
    }
    headers.prefer = 'reply';
    // The Kafka broker's dispatcher names the Trigger's namespace (its egress reference) on every request.
    headers['kn-namespace'] = this.opts.trigger.namespace;
    const ttl = this.ttlOf(attributes);
    const started = performance.now();
    const outcome = await this.sendWithRetries(this.opts.subscriberUrl, headers, body, 'subscriber');
    this.observe('subscriber', outcome, started);

    let failure = outcome.ok ? undefined : outcome;
    if (outcome.ok && outcome.result) {
      const replyError = await this.handleReply(outcome.result, ttl);
      if (replyError) failure = { ok: false, result: outcome.result, error: replyError };
    }
    if (!failure) return;

    if (!this.opts.deadLetterUrl) {
      this.opts.metrics?.undelivered.inc(this.labels);
      this.logger.warn(
        {
          id: (attributes as { id?: unknown }).id,
          type: (attributes as { type?: unknown }).type,
          status: failure.result?.status,
          err: failure.error?.message,
        },
        'delivery failed and no dead-letter sink is configured: event dropped',
      );
      return;
    }
    await this.deadLetter(headers, body, failure, ttl);
  }

  /** A record whose dispatch threw unexpectedly: to the dead-letter sink if there is one, else dropped. */
  private async undeliverable(record: LogRecord, err: unknown): Promise<void> {
    const error = err instanceof Error ? err : new Error(String(err));
    this.opts.metrics?.skipped.inc({ ...this.labels, reason: 'error' });
    const where = { err: error, partition: record.partition, offset: record.offset };
    let message: { headers: Record<string, string>; body: Buffer } | undefined;
    let ttl = this.opts.defaultTtl ?? DEFAULT_TTL;
    if (this.opts.deadLetterUrl) {
      try {
        if (record.forward) {
          message = { headers: { ...record.forward.message.headers }, body: record.forward.message.body };
          ttl = this.ttlOf(record.forward.attributes);
        } else {
          message = encodeHttpBinary(record.event);
          ttl = this.ttlOf(record.event);
          delete message.headers[`ce-${TTL_ATTRIBUTE}`];
        }
      } catch {
        message = undefined; // not even encodable: nothing a sink could take
      }
    }
    if (!message) {
      this.logger.error(where, 'dispatch failed unexpectedly: event skipped');
      return;
    }
    this.logger.error(where, 'dispatch failed unexpectedly: event sent to the dead-letter sink');
    await this.deadLetter(message.headers, message.body, { ok: false, error }, ttl);
  }

  private async sendWithRetries(
    url: string,
    headers: Record<string, string>,
    body: Buffer,
    destination: 'subscriber' | 'dead_letter',
  ): Promise<Outcome> {
    const d = this.opts.trigger.delivery;
    let last: Outcome = { ok: false };
    for (let attempt = 0; ; attempt++) {
      last = await this.attempt(url, headers, body);
      if (last.ok) return last;
      const retryable = last.result ? isRetryableStatus(last.result.status) : true;
      if (!retryable || attempt >= d.retry) return last;
      this.opts.metrics?.retries.inc({ ...this.labels, destination });
      await this.sleep(retryDelayMs(attempt + 1, d));
    }
  }

  private async attempt(url: string, headers: Record<string, string>, body: Buffer): Promise<Outcome> {
    if (this.abort.signal.aborted) throw new ShutdownError();
    try {
      const result = await postEvent(this.agent, url, {
        headers,
        body,
        timeoutMs: this.opts.trigger.delivery.timeoutMs,
        signal: this.abort.signal,
        // Read a failure's body (knativeerrordata) and a reply's; discard anything else.
        readBody: (status, h) => status < 200 || status >= 300 || hasEventHeaders(h),
      });
      return { ok: result.status >= 200 && result.status < 300, result };
    } catch (err) {
      if (err instanceof ShutdownError || this.abort.signal.aborted) throw new ShutdownError();
      if (err instanceof TransportError) return { ok: false, error: err };
      throw err;
    }
  }

  /** Appends a CloudEvent reply to the broker; returns an error when the reply is not a valid event. */
  private async handleReply(result: HttpResult, ttl: number): Promise<Error | undefined> {
    if (result.body.length === 0 && !hasEventHeaders(result.headers)) return undefined;
    if (!isCloudEventResponse(result.headers, result.body)) return undefined;
    let replies: CloudEvent<unknown>[];
    try {
      replies = decodeHttp(result.headers, result.body);
    } catch (err) {
      this.opts.metrics?.replies.inc({ ...this.labels, result: 'invalid' });
      return err instanceof Error ? err : new Error(String(err));
    }
    // The MT broker filter gives the reply the delivered event's TTL minus one and drops it at 0. Nothing
    // else is added or changed (no `time`, JSON data bytes as the subscriber sent them).
    const withTtl: CloudEvent<unknown>[] = [];
    for (const r of replies) {
      const stamped = stampReply(r, ttl);
      if (stamped.ttl > 0) withTtl.push(stamped.event);
    }
    if (withTtl.length < replies.length) {
      this.opts.metrics?.replies.inc(
        { ...this.labels, result: 'ttl_exceeded' },
        replies.length - withTtl.length,
      );
      this.logger.warn({ ttl }, 'reply dropped: knativebrokerttl exhausted (an event loop?)');
    }
    if (withTtl.length === 0) return undefined;
    for (let n = 1; ; n++) {
      try {
        await this.opts.log.append(this.opts.broker, withTtl);
        this.opts.metrics?.replies.inc({ ...this.labels, result: 'appended' }, withTtl.length);
        return undefined;
      } catch (err) {
        if (!isRetriable(err)) {
          this.opts.metrics?.replies.inc({ ...this.labels, result: 'invalid' });
          return err instanceof Error ? err : new Error(String(err));
        }
        this.logger.warn({ err, attempt: n }, 'appending a reply failed; retrying');
        await this.sleep(deadLetterRetryDelayMs(n, this.opts.trigger.delivery));
      }
    }
  }

  /** Delivers to the dead-letter sink, retrying for as long as it takes (never dropped). */
  private async deadLetter(
    headers: Record<string, string>,
    body: Buffer,
    failure: Outcome,
    ttl: number,
  ): Promise<void> {
    const dlsHeaders = { ...headers, ...this.errorExtensions(failure) };
    const started = performance.now();
    for (let round = 1; ; round++) {
      const token = this.opts.deadLetterToken;
      const outcome = await this.sendWithRetries(
        this.opts.deadLetterUrl as string,
        token ? { ...dlsHeaders, authorization: `Bearer ${await token()}` } : dlsHeaders,
        body,
        'dead_letter',
      );
      if (outcome.ok) {
        this.observe('dead_letter', outcome, started);
        this.opts.metrics?.deadLetters.inc(this.labels);
        // The Kafka broker handles a dead-letter sink's reply like a subscriber's.
        if (outcome.result) await this.handleReply(outcome.result, ttl);
        return;
      }
      this.opts.metrics?.dispatched.inc({
        ...this.labels,
        destination: 'dead_letter',
        status_code: outcome.result ? String(outcome.result.status) : 'error',
      });
      this.logger.error(
        { status: outcome.result?.status, err: outcome.error?.message, round },
        'dead-letter sink unreachable; retrying (the event is kept)',
      );
      this.opts.metrics?.retries.inc({ ...this.labels, destination: 'dead_letter' });
      await this.sleep(deadLetterRetryDelayMs(round, this.opts.trigger.delivery));
    }
  }

  /** `knativeerrordest`, `knativeerrorcode`, `knativeerrordata` (+ `kne-*` response headers), as ce- headers. */
  private errorExtensions(failure: Outcome): Record<string, string> {
    const ext: Record<string, string> = { knativeerrordest: this.opts.subscriberUrl };
    const r = failure.result;
    if (r) {
      ext.knativeerrorcode = String(r.status);
      for (const [k, v] of Object.entries(r.headers)) {
        if (!k.startsWith(ERROR_HEADER_PREFIX) || v === undefined) continue;
        const name = k.slice(ERROR_HEADER_PREFIX.length).toLowerCase();
        if (EXTENSION_NAME.test(name)) ext[name] = Array.isArray(v) ? v.join(',') : v;
      }
      if (r.body.length > 0)
        ext.knativeerrordata = r.body.subarray(0, ERROR_DATA_MAX_BYTES).toString('base64');
    }
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(ext)) out[`ce-${k}`] = encodeHeaderValue(v);
    return out;
  }

  private observe(destination: 'subscriber' | 'dead_letter', outcome: Outcome, startedMs: number): void {
    const m = this.opts.metrics;
    if (!m) return;
    const code = outcome.result ? String(outcome.result.status) : 'error';
    const key = `${destination}/${code}`;
    let counter = this.hot.dispatched.get(key);
    if (!counter) {
      counter = m.dispatched.labels({ ...this.labels, destination, status_code: code });
      this.hot.dispatched.set(key, counter);
    }
    counter.inc();
    let histogram = this.hot.latency.get(destination);
    if (!histogram) {
      histogram = m.latency.labels({ ...this.labels, destination });
      this.hot.latency.set(destination, histogram);
    }
    histogram.observe((performance.now() - startedMs) / 1000);
  }

  /** The event's `knativebrokerttl` (see ingress/ttl.ts), else the default. */
  private ttlOf(attributes: object): number {
    return (
      ttlOf((attributes as Record<string, unknown>)[TTL_ATTRIBUTE]) ?? this.opts.defaultTtl ?? DEFAULT_TTL
    );
  }

  private async sleep(ms: number): Promise<void> {
    if (ms <= 0) {
      if (this.abort.signal.aborted) throw new ShutdownError();
      return;
    }
    try {
      await sleep(ms, undefined, { signal: this.abort.signal });
    } catch {
      throw new ShutdownError();
    }
  }

  // --- progress -----------------------------------------------------------------------------------

  private markDone(token: Token): void {
    if (this.tracker.done(token) === undefined) return;
    if (!this.commitTimer && !this.closing) {
      this.commitTimer = setTimeout(() => {
        this.commitTimer = undefined;
        void this.flushCommits();
      }, 20);
    }
  }

  /** Commits every partition whose contiguous progress moved since the last commit. */
  private flushCommits(): Promise<void> {
    if (this.commitInFlight) {
      return this.commitInFlight.then(() => this.flushCommits());
    }
    // After a rewind (a replay) the same offset is committed again: it is the new progress that the log
    // waits for, so the tracker's generation is part of what was committed.
    const mark = (p: number, next: bigint) => `${this.tracker.generationOf(p)}/${next}`;
    const todo = [...this.tracker.commitPoints()].filter(
      ([p, next]) => this.committed.get(p) !== mark(p, next),
    );
    if (todo.length === 0 || !this.subscription) return Promise.resolve();
    const sub = this.subscription;
    // Every partition at once: the Kafka log sends commits requested together as one request.
    this.commitInFlight = Promise.all(
      todo.map(async ([partition, next]) => {
        try {
          const m = mark(partition, next);
          await sub.commit(partition, next.toString());
          this.committed.set(partition, m);
        } catch (err) {
          this.logger.warn({ err, partition, next: next.toString() }, 'offset commit failed; will retry');
        }
      }),
    )
      .then(() => undefined)
      .finally(() => {
        this.commitInFlight = undefined;
      });
    return this.commitInFlight;
  }

  private async updateLag(): Promise<void> {
    const m = this.opts.metrics;
    if (!m || this.closing) return;
    try {
      const lag = await this.opts.log.lag(this.opts.broker, this.opts.trigger.groupId);
      for (const p of lag) {
        const labels = { ...this.labels, partition: String(p.partition) };
        m.lagEvents.set(labels, p.events);
        m.lagSeconds.set(labels, p.seconds);
      }
    } catch (err) {
      this.logger.debug({ err }, 'reading lag failed');
    }
  }
}

function hasEventHeaders(h: HttpResult['headers']): boolean {
  const ct = h['content-type'];
  return h['ce-specversion'] !== undefined || (typeof ct === 'string' && ct.includes('cloudevents'));
}
