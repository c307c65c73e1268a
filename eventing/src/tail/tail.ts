import { randomBytes } from 'node:crypto';
import { TributaryError } from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';
import { compileCesqlPredicate } from '../cesql/index.js';
import type { BrokerLog, BrokerRef, LogRecord, LogSubscription } from '../log/types.js';

/** Prefix of the ephemeral consumer groups of `tailEvents` (never a Trigger's `knative-trigger-*`). */
export const TAIL_GROUP_PREFIX = 'tributary-tail-';

/**
 * Events buffered for a slow reader before the log is asked to wait (backpressure: the subscription
 * fetches the next records only once `onRecords` resolves).
 */
export const DEFAULT_TAIL_BUFFER = 1000;

export interface TailOptions {
  log: BrokerLog;
  broker: BrokerRef;
  /** A CESQL v1 expression; only events for which it is `true` (without errors) are yielded. */
  filter?: string | undefined;
  /** Where to start: `latest` (default, only events appended from now on) or `earliest` (the stored log). */
  from?: 'latest' | 'earliest';
  /** Stops the tail; the iterator then ends (no error). */
  signal?: AbortSignal;
  /** Events buffered before the log is paused (default {@link DEFAULT_TAIL_BUFFER}). */
  bufferSize?: number;
}

/** `tailEvents` refused a filter that is not valid CESQL. `excerpt` has the line and carets. */
export class TailFilterError extends TributaryError {
  readonly excerpt: string;
  readonly line: number;
  readonly column: number;
  constructor(message: string, details: { excerpt: string; line: number; column: number; cause?: unknown }) {
    super(`invalid CESQL filter: ${message}\n${details.excerpt}`, {
      code: 'TAIL_FILTER_INVALID',
      retriable: false,
      statusCode: 400,
      cause: details.cause,
    });
    this.name = 'TailFilterError';
    this.excerpt = details.excerpt;
    this.line = details.line;
    this.column = details.column;
  }
}

/** Compiles a tail filter once; throws {@link TailFilterError} (with the caret excerpt) when invalid. */
export function compileTailFilter(filter: string | undefined): ((e: CloudEvent<unknown>) => boolean) | null {
  if (filter === undefined || filter.trim() === '') return null;
  const res = compileCesqlPredicate(filter, { booleanOnly: false });
  if (res.ok) return res.predicate;
  // A refusal that is not a syntax error (an unknown function) underlines the whole expression.
  const excerpt = res.excerpt ?? `${filter}\n${'^'.repeat(filter.length)}`;
  throw new TailFilterError(res.message, { excerpt, line: res.line, column: res.column, cause: res.cause });
}

/** `tailEvents` was asked for a broker whose storage does not exist (404 over HTTP). */
export class UnknownBrokerError extends TributaryError {
  constructor(broker: BrokerRef) {
    super(`broker ${broker.namespace}/${broker.name} does not exist`, {
      code: 'BROKER_NOT_FOUND',
      retriable: false,
      statusCode: 404,
    });
    this.name = 'UnknownBrokerError';
  }
}

/** A fresh ephemeral consumer group name: `tributary-tail-<random>`. */
export function tailGroupId(): string {
  return `${TAIL_GROUP_PREFIX}${randomBytes(6).toString('hex')}`;
}

/**
 * Follows a broker's log like `kubectl logs -f`: an async iterator of the CloudEvents appended to the
 * broker (from now on, or from the start with `from: 'earliest'`) that pass `filter`.
 *
 * It reads through an ephemeral consumer group `tributary-tail-<random>` that commits nothing, so it never
 * moves a Trigger's position, and removes the group when the iterator ends (`signal` aborted, `break` out
 * of a `for await`, or `return()`). An invalid filter throws {@link TailFilterError} before anything is
 * subscribed. Works on both backends (Kafka: consumer group + admin deleteGroups; Postgres: a row in
 * `subscriptions`, deleted at the end). A broker that does not exist throws {@link UnknownBrokerError}.
 */
export async function tailEvents(options: TailOptions): Promise<AsyncIterableIterator<CloudEvent<unknown>>> {
  const predicate = compileTailFilter(options.filter);
  const { log, broker, signal } = options;
  if (signal?.aborted) return emptyIterator();
  // Looking never creates: an unknown broker (a typo, or `../..` from a hostile query) is an error, not a
  // new row in `brokers` or a new topic.
  if (!(await log.hasBroker(broker))) throw new UnknownBrokerError(broker);
  // Tails whose process died before cleaning up (Postgres: they would hold back retention).
  await log.sweepAbandonedGroups(TAIL_GROUP_PREFIX).catch(() => {});

  const groupId = tailGroupId();
  const queue = new TailQueue(options.bufferSize ?? DEFAULT_TAIL_BUFFER);
  let subscription: LogSubscription;
  try {
    subscription = await log.subscribe(broker, {
      groupId,
      initialOffset: options.from ?? 'latest',
      onRecords: (records) => queue.offer(records, predicate),
    });
  } catch (err) {
    await deleteTailGroup(log, broker, groupId).catch(() => {});
    throw err;
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      queue.end();
      signal?.removeEventListener('abort', onAbort);
      try {
        await subscription.close();
      } finally {
        // Best effort: a group left behind is swept by the next tail (Postgres) or expires (Kafka).
        await deleteTailGroup(log, broker, groupId).catch(() => {});
      }
    })();
    return closing;
  };
  const onAbort = () => {
    void close();
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  const iterator: AsyncIterableIterator<CloudEvent<unknown>> = {
    [Symbol.asyncIterator]() {
      return iterator;
    },
    async next(): Promise<IteratorResult<CloudEvent<unknown>>> {
      const event = await queue.take();
      if (event) return { value: event, done: false };
      await closing;
      return { value: undefined, done: true };
    },
    async return(): Promise<IteratorResult<CloudEvent<unknown>>> {
      await close();
      queue.clear();
      return { value: undefined, done: true };
    },
  };
  return iterator;
}

/**
 * The events between the log and the tail's reader: the log's `onRecords` waits while `limit` events are
 * buffered (backpressure: the subscription fetches the next records only once it resolves).
 */
class TailQueue {
  private readonly events: CloudEvent<unknown>[] = [];
  private done = false;
  private wakeReader: (() => void) | undefined;
  private wakeWriter: (() => void) | undefined;

  constructor(private readonly limit: number) {}

  /** Buffers the records' events that pass `predicate`; resolves once the reader has caught up. */
  async offer(
    records: readonly LogRecord[],
    predicate: ((e: CloudEvent<unknown>) => boolean) | null,
  ): Promise<void> {
    for (const r of records) {
      let event: CloudEvent<unknown>;
      try {
        event = r.event;
      } catch {
        continue; // data that does not decode: not an event a tail can show
      }
      if (predicate && !predicate(event)) continue;
      this.events.push(event);
    }
    if (this.events.length > 0) this.notifyReader();
    // Backpressure: hold the log until the reader has caught up (or the tail ends).
    while (!this.done && this.events.length >= this.limit) {
      await new Promise<void>((resolve) => {
        this.wakeWriter = resolve;
      });
    }
  }

  /** The next event, waiting for one; undefined once the tail has ended and the buffer is empty. */
  async take(): Promise<CloudEvent<unknown> | undefined> {
    for (;;) {
      const event = this.events.shift();
      if (event) {
        if (this.events.length < this.limit) this.notifyWriter();
        return event;
      }
      if (this.done) return undefined;
      await new Promise<void>((resolve) => {
        this.wakeReader = resolve;
      });
    }
  }

  /** Ends the tail: the writer stops waiting, the reader gets what is buffered, then the end. */
  end(): void {
    this.done = true;
    this.notifyWriter();
    this.notifyReader();
  }

  clear(): void {
    this.events.length = 0;
  }

  private notifyReader(): void {
    const w = this.wakeReader;
    this.wakeReader = undefined;
    w?.();
  }

  private notifyWriter(): void {
    const w = this.wakeWriter;
    this.wakeWriter = undefined;
    w?.();
  }
}

function emptyIterator(): AsyncIterableIterator<CloudEvent<unknown>> {
  const it: AsyncIterableIterator<CloudEvent<unknown>> = {
    [Symbol.asyncIterator]: () => it,
    next: async () => ({ value: undefined, done: true }),
    return: async () => ({ value: undefined, done: true }),
  };
  return it;
}

/**
 * Removes the tail's consumer group so it leaves nothing behind: on Postgres its `subscriptions` row would
 * otherwise hold back retention of the broker's events forever; on Kafka the group's committed offsets
 * (the initial `latest` position) would linger until `offsets.retention.minutes`.
 */
export async function deleteTailGroup(log: BrokerLog, broker: BrokerRef, groupId: string): Promise<void> {
  if (!groupId.startsWith(TAIL_GROUP_PREFIX))
    throw new TributaryError(`refusing to delete group ${groupId}: not a tail group`, {
      code: 'INVALID_INPUT',
    });
  await log.deleteGroup(broker, groupId);
}
