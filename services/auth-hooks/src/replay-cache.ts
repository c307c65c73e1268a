/**
 * Remembers recently seen `webhook-id`s so a captured request cannot be replayed while its timestamp is
 * still inside the tolerance window. Memory is bounded: at most `maxEntries` ids are kept; when full, the
 * oldest-inserted id is forgotten first (a replay of an id evicted that early would be accepted, so size the
 * cache above the number of hook calls expected in 10 minutes). Entries expire when their timestamp leaves
 * the window, after which the timestamp check rejects a replay anyway.
 *
 * One instance per process: several replicas do not share it (Auth gives each attempt a new id, so
 * legitimate retries never look like replays).
 */
export class ReplayCache {
  private readonly entries = new Map<string, number>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * True when `id` was already seen and has not expired; otherwise records it until `expiresAtMs` and
   * returns false.
   */
  checkAndRemember(id: string, expiresAtMs: number): boolean {
    const now = this.now();
    const known = this.entries.get(id);
    if (known !== undefined && known > now) return true;
    if (known !== undefined) this.entries.delete(id);
    this.sweep(now);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(id, expiresAtMs);
    return false;
  }

  /** Drops expired entries from the front (insertion order is close to expiry order). */
  private sweep(now: number): void {
    let budget = 64;
    for (const [id, expiresAt] of this.entries) {
      if (expiresAt > now || budget-- <= 0) break;
      this.entries.delete(id);
    }
  }
}
