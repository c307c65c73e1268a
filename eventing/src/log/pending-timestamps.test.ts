import { describe, expect, it } from '@jest/globals';
import { PendingTimestamps } from './pending-timestamps.js';

describe('PendingTimestamps', () => {
  it('gives the timestamp of the oldest uncommitted record and forgets committed ones', () => {
    const p = new PendingTimestamps();
    p.add(0, 10, 1000);
    p.add(0, 12, 2000);
    p.add(1, 5, 500);
    expect(p.oldestFrom(0, 10)).toBe(1000);
    p.commit(0, 11);
    expect(p.oldestFrom(0, 11)).toBe(2000);
    p.commit(0, 13);
    expect(p.oldestFrom(0, 13)).toBeUndefined();
    expect(p.oldestFrom(1, 5)).toBe(500);
    expect(p.oldestFrom(2, 0)).toBeUndefined();
  });

  it('restarts a partition when records are redelivered from an earlier offset', () => {
    const p = new PendingTimestamps();
    p.add(0, 10, 1000);
    p.add(0, 11, 1100);
    p.add(0, 10, 3000); // rebalance: redelivered
    expect(p.oldestFrom(0, 10)).toBe(3000);
  });
});
