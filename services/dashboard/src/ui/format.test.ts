// How the page writes numbers: rates, counts, durations and sizes.
import { describe, expect, it } from '@jest/globals';
import { fmtBytes, fmtDuration, fmtInt, fmtRate } from './format.js';

describe('the page formats', () => {
  it('rates with fewer decimals as they grow, and 0 for none', () => {
    expect([0, 0.123, 12.34, 123.4].map(fmtRate)).toEqual(['0', '0.12', '12.3', '123']);
  });

  it('counts as rounded integers with thousands separators', () => {
    expect([undefined, 1234567.6].map(fmtInt)).toEqual(['0', '1,234,568']);
  });

  it('durations from microseconds to hours, and a dash for none', () => {
    expect([null, 0, 0.0000042, 0.0042, 0.25, 42, 600, 36_000].map(fmtDuration)).toEqual([
      '–',
      '0 s',
      '4 µs',
      '4.2 ms',
      '250 ms',
      '42.0 s',
      '10.0 min',
      '10.0 h',
    ]);
  });

  it('sizes in binary units', () => {
    expect([null, 512, 4096, 200 * 1024 * 1024].map(fmtBytes)).toEqual([
      '–',
      '512 B',
      '4.0 KiB',
      '200.0 MiB',
    ]);
  });
});
