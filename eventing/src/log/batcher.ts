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
  /**
   * How long a call that finds the writer idle waits for others to join its write (ms, default 0), like the
   * Kafka producer's `linger.ms`. Calls queued behind a write in flight never wait: they go out as soon as
   * it completes. A full batch (`maxItems`) goes out at once. Only callers that overlap are held: a call
   * lingers only if, within {@link COMPANY_WINDOW_MS}, some call arrived while a write was in flight (calls
   * arriving independently of each other's completion, e.g. HTTP publishers at a steady rate). A strictly
   * sequential caller (storage-events behind MinIO's one-at-a-time webhook queue) or callers that each wait
   * for their previous call (a closed loop) never find company a linger could gather, so they are not held.
   */
  lingerMs?: number;
}

interface Pending<T> {
  items: T[];
  bytes: number;
  /** ms since epoch after which the caller gets `timeoutError`; 0 = never. */
  deadline: number;
  settled: boolean;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** How long a call arriving while a write is in flight keeps lingering on (see `lingerMs`). */
export const COMPANY_WINDOW_MS = 1_000;

/** How often deadlines are checked: a timed-out call is answered at most this late. */
const SWEEP_MS = 100;

export class Batcher<T> {
  private queue: Pending<T>[] = [];
  private readonly writing = new Set<Pending<T>[]>();
  private inFlight = 0;
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];
  private sweeper: NodeJS.Timeout | undefined;
  private readonly maxItems: number;
  private readonly maxBytes: number;
  private readonly maxInFlight: number;
  private readonly lingerMs: number;
  private lingerTimer: NodeJS.Timeout | undefined;
  private queuedItems = 0;
  /** When a call last arrived while a write was in flight (performance.now()). */
  private lastCompany = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    options: BatcherOptions = {},
    /** The error a call gets when its deadline passes. */
    private readonly timeoutError: () => Error = () => new Error('timed out'),
  ) {
    this.maxItems = options.maxItems ?? 2000;
    this.maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
    this.maxInFlight = options.maxInFlight ?? 1;
    this.lingerMs = options.lingerMs ?? 0;
  }

  /**
   * Resolves once every item of this call has been written, or rejects with the write's error, or with
   * `timeoutError()` once `timeoutMs` passed. A call that times out while still queued is dropped unwritten
   * (its caller has given up, e.g. answered 503); one whose write is already in flight may still land.
   * Deadlines are checked by one sweeping timer, not a timer per call.
   */
  add(items: T[], bytes: number, timeoutMs = 0): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry: Pending<T> = {
        items,
        bytes,
        deadline: timeoutMs > 0 ? Date.now() + timeoutMs : 0,
        settled: false,
        resolve: () => {
          if (entry.settled) return;
          entry.settled = true;
          resolve();
        },
        reject: (err) => {
          if (entry.settled) return;
          entry.settled = true;
          reject(err);
        },
      };
      this.queue.push(entry);
      this.queuedItems += items.length;
      if (entry.deadline > 0 && !this.sweeper) {
        this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
        this.sweeper.unref();
      }
      if (this.shouldLinger()) this.linger();
      else this.schedule();
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

  private sweep(): void {
    const now = Date.now();
    const expired = (p: Pending<T>) => p.deadline > 0 && p.deadline <= now;
    if (this.queue.some(expired)) {
      const keep: Pending<T>[] = [];
      for (const p of this.queue) {
        if (expired(p)) p.reject(this.timeoutError());
        else keep.push(p);
      }
      this.queue = keep;
      this.queuedItems = keep.reduce((n, p) => n + p.items.length, 0);
    }
    for (const batch of this.writing) for (const p of batch) if (expired(p)) p.reject(this.timeoutError());
    if (this.queue.length === 0 && this.writing.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
    this.notifyIdle();
  }

  /** For the call just queued: linger when the writer is idle, the batch not full and calls overlap lately. */
  private shouldLinger(): boolean {
    if (this.lingerMs <= 0) return false;
    const now = performance.now();
    if (this.inFlight > 0) {
      this.lastCompany = now;
      return false;
    }
    return this.queuedItems < this.maxItems && now - this.lastCompany <= COMPANY_WINDOW_MS;
  }

  /** The writer is idle: give other calls `lingerMs` to join (one timer for all of them). */
  private linger(): void {
    if (this.lingerTimer || this.scheduled) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      this.drain();
    }, this.lingerMs);
  }

  private schedule(): void {
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
    }
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
        this.queuedItems -= next.items.length;
        taken.push(next);
        count += next.items.length;
        bytes += next.bytes;
      }
      this.inFlight++;
      this.writing.add(taken);
      const items = taken.length === 1 ? taken[0]!.items : taken.flatMap((p) => p.items);
      // The write counts as done before its callers hear so: a caller's next call (a closed loop) then
      // finds the writer idle, not "arriving while a write is in flight".
      const settle = (failed: boolean, err?: unknown) => {
        this.inFlight--;
        this.writing.delete(taken);
        for (const p of taken) {
          if (failed) p.reject(err);
          else p.resolve();
        }
        if (this.queue.length > 0) this.schedule();
        this.notifyIdle();
      };
      this.write(items).then(
        () => settle(false),
        (err: unknown) => settle(true, err),
      );
    }
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
