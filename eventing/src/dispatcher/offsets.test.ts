import { describe, expect, it } from '@jest/globals';
import { OffsetTracker } from './offsets.js';

describe('OffsetTracker', () => {
  it('moves the commit point only over a contiguous run of done records', () => {
    const t = new OffsetTracker();
    const a = t.add(0, '10');
    const b = t.add(0, '11');
    const c = t.add(0, '12');
    expect(t.size).toBe(3);
    expect(t.done(b)).toBeUndefined(); // 10 is still running
    expect(t.commitPoints().size).toBe(0);
    expect(t.done(a)).toBe(12n); // 10 and 11 are done: everything below 12
    expect(t.done(c)).toBe(13n);
    expect(t.commitPoints()).toEqual(new Map([[0, 13n]]));
    expect(t.size).toBe(0);
  });

  it('keeps partitions apart', () => {
    const t = new OffsetTracker();
    const p0 = t.add(0, '5');
    const p1 = t.add(1, '7');
    expect(t.done(p1)).toBe(8n);
    expect(t.commitPoints()).toEqual(new Map([[1, 8n]]));
    expect(t.done(p0)).toBe(6n);
    expect(t.commitPoints()).toEqual(
      new Map([
        [0, 6n],
        [1, 8n],
      ]),
    );
  });

  it('skips gaps in offsets (records the log never hands over, e.g. transaction markers)', () => {
    const t = new OffsetTracker();
    const a = t.add(0, '3');
    const b = t.add(0, '9');
    t.done(a);
    expect(t.done(b)).toBe(10n);
  });

  it('a token is counted once', () => {
    const t = new OffsetTracker();
    const a = t.add(0, '1');
    const b = t.add(0, '2');
    expect(t.done(a)).toBe(2n);
    expect(t.done(a)).toBeUndefined();
    expect(t.size).toBe(1);
    expect(t.done(b)).toBe(3n);
  });

  it('restarts a partition when the log rewinds (a rebalance redelivers from the committed offset)', () => {
    const t = new OffsetTracker();
    t.add(0, '1');
    t.add(0, '2');
    const other = t.add(1, '4');
    expect(t.size).toBe(3);
    const again = t.add(0, '1'); // rewound
    expect(t.size).toBe(2); // the old partition-0 entries are forgotten, partition 1 is kept
    expect(t.done(again)).toBe(2n);
    expect(t.done(other)).toBe(5n); // other partitions' tokens stay valid across the rewind
  });

  it('regression: a token from before a rewind does not mark the redelivered record done', () => {
    // The guard was `token.generation > this.generation`, which can never be true: a delivery still running
    // from before a rebalance then marked the redelivered copy of its offset done, and the commit point moved
    // over a record whose redelivery had not finished.
    const t = new OffsetTracker();
    const stale = t.add(0, '1');
    t.add(0, '2');
    const fresh = t.add(0, '1'); // rewound: offset 1 is registered again
    t.add(0, '2');
    expect(t.done(stale)).toBeUndefined();
    expect(t.commitPoints().size).toBe(0);
    expect(t.done(fresh)).toBe(2n);
  });

  it('regression (replay): after a rewind the same commit point is told apart, and old tokens are not current', () => {
    const t = new OffsetTracker();
    const old = [t.add(0, '0'), t.add(0, '1'), t.add(0, '2')];
    for (const tok of old.slice(0, 2)) t.done(tok);
    expect(t.commitPoints().get(0)).toBe(2n);
    const before = t.generationOf(0);
    // A replay moves the partition back to 1: records 1 and 2 are handed over again.
    const again = [t.add(0, '1'), t.add(0, '2')];
    expect(t.isCurrent(old[2]!)).toBe(false);
    expect(t.isCurrent(again[0]!)).toBe(true);
    expect(t.done(old[2]!)).toBeUndefined();
    expect(t.done(again[0]!)).toBe(2n);
    // Commit point 2 again, but of a new generation: the dispatcher commits it (the log was moved to 1).
    expect(t.generationOf(0)).not.toBe(before);
  });

  it('compacts its entries without losing the commit point', () => {
    const t = new OffsetTracker();
    const tokens = Array.from({ length: 5000 }, (_, i) => t.add(0, String(i)));
    let last: bigint | undefined;
    for (const tok of tokens) last = t.done(tok) ?? last;
    expect(last).toBe(5000n);
    const next = t.add(0, '5000');
    expect(t.done(next)).toBe(5001n);
    expect(t.size).toBe(0);
  });
});
