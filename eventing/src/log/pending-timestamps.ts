/**
 * Store timestamps of the records a subscription has handed out and not yet committed, per partition, in
 * offset order. The oldest one is the age of the oldest uncommitted record (lag in seconds) without reading
 * the log again: a subscription fetches from its committed offset on, so the first uncommitted record is
 * always the first one it handed out after the last commit.
 */
export class PendingTimestamps {
  private readonly byPartition = new Map<number, { offsets: number[]; timestamps: number[]; head: number }>();

  add(partition: number, offset: number, timestamp: number): void {
    let p = this.byPartition.get(partition);
    if (!p) {
      p = { offsets: [], timestamps: [], head: 0 };
      this.byPartition.set(partition, p);
    }
    const last = p.offsets[p.offsets.length - 1];
    // A redelivery after a rebalance starts again at the committed offset: drop what we had.
    if (last !== undefined && offset <= last) {
      p.offsets = [];
      p.timestamps = [];
      p.head = 0;
    }
    p.offsets.push(offset);
    p.timestamps.push(timestamp);
  }

  /** Every record below `nextOffset` is done. */
  commit(partition: number, nextOffset: number): void {
    const p = this.byPartition.get(partition);
    if (!p) return;
    while (p.head < p.offsets.length && p.offsets[p.head]! < nextOffset) p.head++;
    if (p.head > 1024 && p.head * 2 > p.offsets.length) {
      p.offsets = p.offsets.slice(p.head);
      p.timestamps = p.timestamps.slice(p.head);
      p.head = 0;
    }
  }

  /** Timestamp of the first tracked record at or after `offset`, if any. */
  oldestFrom(partition: number, offset: number): number | undefined {
    const p = this.byPartition.get(partition);
    if (!p) return undefined;
    for (let i = p.head; i < p.offsets.length; i++) {
      if (p.offsets[i]! >= offset) return p.timestamps[i];
    }
    return undefined;
  }
}
