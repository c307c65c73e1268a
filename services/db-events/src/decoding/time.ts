import { PG_EPOCH_OFFSET_US } from '../replication/protocol.js';

const PG_EPOCH_OFFSET_US_NUMBER = Number(PG_EPOCH_OFFSET_US);

/** The last millisecond formatted, and its ISO form without the `Z` (transactions come many per ms). */
let lastMs = Number.NaN;
let lastIso = '';

/** Postgres timestamp (µs since 2000-01-01 UTC) -> RFC 3339 / ISO-8601 with microseconds, e.g. `2025-01-02T03:04:05.123456Z`. */
export function pgTimestampToIso(pgTime: bigint): string {
  // A commit time after 1970 and before 2255 is exact as a double in µs: no BigInt arithmetic, and the date
  // part is formatted once per millisecond.
  const unixUs = Number(pgTime) + PG_EPOCH_OFFSET_US_NUMBER;
  if (unixUs >= 0 && unixUs <= Number.MAX_SAFE_INTEGER) {
    const ms = Math.floor(unixUs / 1000);
    const us = unixUs - ms * 1000;
    if (ms !== lastMs) {
      lastIso = new Date(ms).toISOString().slice(0, -1); // ...T03:04:05.123
      lastMs = ms;
    }
    return `${lastIso}${us < 10 ? '00' : us < 100 ? '0' : ''}${us}Z`;
  }
  return pgTimestampToIsoExact(pgTime);
}

/** {@link pgTimestampToIso} in BigInt arithmetic, for any timestamp. */
export function pgTimestampToIsoExact(pgTime: bigint): string {
  const unixUs = pgTime + PG_EPOCH_OFFSET_US;
  const ms = unixUs / 1000n;
  const us = Number(unixUs - ms * 1000n);
  const iso = new Date(Number(ms)).toISOString(); // ...T03:04:05.123Z
  return `${iso.slice(0, -1)}${String(us < 0 ? 0 : us).padStart(3, '0')}Z`;
}

/** Postgres timestamp -> Unix milliseconds. */
export function pgTimestampToMillis(pgTime: bigint): number {
  return Number((pgTime + PG_EPOCH_OFFSET_US) / 1000n);
}
