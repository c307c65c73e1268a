/**
 * Per-partition progress: records are registered in log order and marked done in any order; the commit
 * point only moves over a contiguous run of done records, so a crash redelivers exactly the records that
 * were not finished (delivered, dead-lettered or filtered out).
 */
interface Entry {
  offset: bigint;
  done: boolean;
}

class PartitionProgress {
  constructor(readonly generation: number) {}
  readonly entries: Entry[] = [];
  head = 0;
  readonly byOffset = new Map<string, Entry>();
  lastAdded: bigint | undefined;
  /** Next offset to commit (every record below it is done), if progress was made. */
  next: bigint | undefined;
}

/** What `add` returns and `done` takes: a record's position and the partition generation it belongs to. */
export interface OffsetToken {
  partition: number;
  offset: string;
  generation: number;
}

export class OffsetTracker {
  private readonly partitions = new Map<number, PartitionProgress>();
  /** Bumped on every rewind: a token from before a partition's rewind must not mark its new entries done. */
  private generation = 0;
  private tracked = 0;

  /** Records registered and not yet committed-over. */
  get size(): number {
    return this.tracked;
  }

  /**
   * Registers a record before it is processed. A record at or below the last one seen in its partition
   * means the log rewound (e.g. after a rebalance): that partition's progress restarts from it.
   * Returns a token to pass to `done`.
   */
  add(partition: number, offset: string): OffsetToken {
    let p = this.partitions.get(partition);
    const off = BigInt(offset);
    if (p?.lastAdded !== undefined && off <= p.lastAdded) {
      this.tracked -= p.entries.length - p.head;
      p = undefined;
      this.generation++;
    }
    if (!p) {
      p = new PartitionProgress(this.generation);
      this.partitions.set(partition, p);
    }
    const e = { offset: off, done: false };
    p.entries.push(e);
    p.byOffset.set(offset, e);
    p.lastAdded = off;
    this.tracked++;
    return { partition, offset, generation: p.generation };
  }

  /**
   * Marks a record done; returns the partition's new commit point when it moved. A token from before its
   * partition rewound is ignored: the same offset was registered again and is redelivered, and only that
   * new registration may move the commit point over it.
   */
  done(token: OffsetToken): bigint | undefined {
    const p = this.partitions.get(token.partition);
    if (!p || token.generation !== p.generation) return undefined;
    const e = p.byOffset.get(token.offset);
    if (!e) return undefined;
    e.done = true;
    p.byOffset.delete(token.offset);
    let moved = false;
    while (p.head < p.entries.length && (p.entries[p.head] as Entry).done) {
      p.next = (p.entries[p.head] as Entry).offset + 1n;
      p.head++;
      this.tracked--;
      moved = true;
    }
    if (p.head > 1024 && p.head * 2 > p.entries.length) {
      p.entries.splice(0, p.head);
      p.head = 0;
    }
    return moved ? p.next : undefined;
  }

  /**
   * Increases whenever a partition's progress restarts (a rewind: a rebalance, or a replay moving the
   * position back), so a commit point equal to one already committed before the rewind is told apart.
   */
  generationOf(partition: number): number | undefined {
    return this.partitions.get(partition)?.generation;
  }

  /** False for a token from before its partition rewound: its record is handed over again. */
  isCurrent(token: OffsetToken): boolean {
    return this.partitions.get(token.partition)?.generation === token.generation;
  }

  /** Current commit points: partition -> next offset. */
  commitPoints(): Map<number, bigint> {
    const out = new Map<number, bigint>();
    for (const [partition, p] of this.partitions) if (p.next !== undefined) out.set(partition, p.next);
    return out;
  }
}
