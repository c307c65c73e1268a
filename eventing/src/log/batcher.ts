/**
 * Coalesces concurrent `append` calls into one write. Each call's items stay together and in order; calls
 * that arrive while a write is in flight are queued and flushed together as the next write, so many
 * concurrent HTTP requests become a few large Kafka produce requests or Postgres transactions instead of
 * one each (the idempotent kafkajs producer sends one request at a time per broker anyway).
 */
export interface BatcherOptions {
  /** Upper bound of items in one write (default 2000). A single call larger than this is written alone. */
  maxItems?: number;
  /** Upper bound of payload bytes in one write (default 4 MiB). A single larger call is written alone. */
  maxBytes?: number;
  /** Writes in flight at once (default 1). */
  maxInFlight?: number;
}

interface Pending<T> {
  items: T[];
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class Batcher<T> {
  private readonly queue: Pending<T>[] = [];
  private inFlight = 0;
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];
  private readonly maxItems: number;
  private readonly maxBytes: number;
  private readonly maxInFlight: number;

  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    options: BatcherOptions = {},
  ) {
    this.maxItems = options.maxItems ?? 2000;
    this.maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
    this.maxInFlight = options.maxInFlight ?? 1;
  }

  /**
   * Resolves once every item of this call has been written (or rejects with the write's error). When
   * `signal` aborts while the call is still queued, it is dropped unwritten (its caller has given up, e.g.
   * answered 503), so an append that timed out before being sent is never written behind the caller's back.
   */
  add(items: T[], bytes: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const entry: Pending<T> = { items, bytes, resolve, reject };
      if (signal) {
        const onAbort = () => {
          const i = this.queue.indexOf(entry);
          if (i >= 0) {
            this.queue.splice(i, 1);
            reject(signal.reason);
          }
        };
        signal.addEventListener('abort', onAbort, { once: true });
        entry.resolve = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        entry.reject = (err) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        };
      }
      this.queue.push(entry);
      this.schedule();
    });
  }

  /** Calls queued and not yet written. */
  get pending(): number {
    return this.queue.length;
  }

  /** Resolves once nothing is queued or in flight (used on close, after new calls have stopped). */
  async idle(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight > 0) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight) return;
    this.scheduled = true;
    // setImmediate rather than a microtask: requests parsed in the same I/O phase join one write.
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const taken: Pending<T>[] = [];
      let count = 0;
      let bytes = 0;
      while (this.queue.length > 0) {
        const next = this.queue[0]!;
        if (
          taken.length > 0 &&
          (count + next.items.length > this.maxItems || bytes + next.bytes > this.maxBytes)
        ) {
          break;
        }
        this.queue.shift();
        taken.push(next);
        count += next.items.length;
        bytes += next.bytes;
      }
      this.inFlight++;
      const items = taken.length === 1 ? taken[0]!.items : taken.flatMap((p) => p.items);
      this.write(items)
        .then(
          () => {
            for (const p of taken) p.resolve();
          },
          (err: unknown) => {
            for (const p of taken) p.reject(err);
          },
        )
        .finally(() => {
          this.inFlight--;
          if (this.queue.length > 0) this.schedule();
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const w of waiters) w();
        });
    }
  }
}
