import { describe, expect, it } from '@jest/globals';
import { pgTimestampToIso, pgTimestampToIsoExact } from './time.js';

describe('pgTimestampToIso', () => {
  it('formats as the BigInt arithmetic does, across milliseconds, epochs and ranges', () => {
    const times: bigint[] = [0n, 1n, 999n, 1000n, 1001n, -1n, -946_684_800_000_000n, -946_684_800_000_001n];
    // Consecutive commits within and across milliseconds (the per-millisecond cache), today and far off.
    for (const base of [820_000_000_123_456n, 0n, 8_000_000_000_000_000n, 9_007_199_254_740_991n])
      for (let k = -1500n; k <= 1500n; k += 7n) times.push(base + k);
    times.push(9_223_372_036_854_775_807n / 1000n, -210_866_803_200_000_000n);
    for (const t of times) expect([t, pgTimestampToIso(t)]).toEqual([t, pgTimestampToIsoExact(t)]);
    expect(pgTimestampToIso(820_000_000_123_456n)).toBe('2025-12-25T17:46:40.123456Z');
    expect(pgTimestampToIso(5n)).toBe('2000-01-01T00:00:00.000005Z');
  });
});
