import { isRetriable, type Logger } from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';
import type { HookMetrics } from './metrics.js';

/** What auth-hooks needs from a publisher (`createPublisher` in @tributary/shared fits). */
export interface EventPublisher {
  publish(event: CloudEvent<unknown>): Promise<void>;
}

export class DeliveryTimeoutError extends Error {
  constructor(ms: number) {
    super(`the broker did not accept the event within ${ms} ms`);
    this.name = 'DeliveryTimeoutError';
  }
}

export interface EventSinkOptions {
  publisher: EventPublisher;
  logger: Logger;
  metrics: HookMetrics;
  /** Most events publishing in the background at once; more are dropped and counted. */
  maxPending: number;
  /** Background attempts per event (first included) while failures are retriable. */
  backgroundAttempts?: number;
  /** First background retry delay; doubles per attempt. */
  backgroundBackoffMs?: number;
}

function timeout(ms: number): { promise: Promise<never>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeliveryTimeoutError(ms)), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/**
 * Two ways to publish a hook's event:
 * - `deliver` (send-email, send-sms): resolves only once the broker accepted the event, rejects after
 *   `timeoutMs`; the caller answers 503 so Auth retries the call (same `metadata.uuid`, so the same event
 *   id: a late success of the first attempt deduplicates).
 * - `publishSoon` (every other hook): waits at most `budgetMs` for the broker, then lets publishing go on
 *   in the background with retries, so a slow broker never delays Auth by more than the budget. At most
 *   `maxPending` events are in the background at once; beyond that new events are dropped (counted in
 *   `auth_hooks_events_total{outcome="dropped"}` and logged), which bounds memory when the broker is down.
 */
export class EventSink {
  private readonly pending = new Set<Promise<void>>();
  private readonly attempts: number;
  private readonly backoffMs: number;
  private closed = false;
  private aborted = false;

  constructor(private readonly opts: EventSinkOptions) {
    this.attempts = opts.backgroundAttempts ?? 5;
    this.backoffMs = opts.backgroundBackoffMs ?? 200;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  async deliver(hook: string, event: CloudEvent<unknown>, timeoutMs: number): Promise<void> {
    const t = timeout(timeoutMs);
    const publishing = this.opts.publisher.publish(event);
    publishing.catch(() => {});
    try {
      await Promise.race([publishing, t.promise]);
      this.opts.metrics.events.inc({ hook, outcome: 'published' });
    } catch (err) {
      this.opts.metrics.events.inc({ hook, outcome: 'failed' });
      throw err;
    } finally {
      t.cancel();
    }
  }

  /** Never rejects: resolves with what happened within the budget. */
  async publishSoon(
    hook: string,
    event: CloudEvent<unknown>,
    budgetMs: number,
  ): Promise<'published' | 'pending' | 'failed' | 'dropped'> {
    if (this.closed || this.pending.size >= this.opts.maxPending) {
      this.opts.metrics.events.inc({ hook, outcome: 'dropped' });
      this.opts.logger.error(
        { hook, id: event.id, type: event.type, pending: this.pending.size },
        'event dropped: too many events waiting for the broker',
      );
      return 'dropped';
    }
    let outcome: 'published' | 'failed' | undefined;
    const task = this.publishWithRetry(hook, event).then((ok) => {
      outcome = ok ? 'published' : 'failed';
    });
    const tracked = task.finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
    if (budgetMs <= 0) return 'pending';
    const t = timeout(budgetMs);
    try {
      await Promise.race([tracked, t.promise]);
    } catch {
      // budget elapsed; publishing continues in the background
    } finally {
      t.cancel();
    }
    return outcome ?? 'pending';
  }

  private async publishWithRetry(hook: string, event: CloudEvent<unknown>): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.opts.publisher.publish(event);
        this.opts.metrics.events.inc({ hook, outcome: 'published' });
        return true;
      } catch (err) {
        const retry = isRetriable(err) && attempt < this.attempts && !this.aborted;
        if (!retry) {
          this.opts.metrics.events.inc({ hook, outcome: 'failed' });
          this.opts.logger.error(
            { err, hook, id: event.id, type: event.type, attempt },
            'event not published',
          );
          return false;
        }
        await new Promise((r) => setTimeout(r, this.backoffMs * 2 ** (attempt - 1)));
      }
    }
  }

  /** Waits up to `timeoutMs` for background publishes to finish; new ones are dropped from now on. */
  async drain(timeoutMs: number): Promise<void> {
    this.closed = true;
    if (this.pending.size === 0) return;
    const t = timeout(timeoutMs);
    try {
      await Promise.race([Promise.allSettled([...this.pending]), t.promise]);
    } catch {
      this.aborted = true;
      this.opts.logger.warn({ pending: this.pending.size }, 'shutdown: events still unpublished');
    } finally {
      t.cancel();
    }
  }
}
