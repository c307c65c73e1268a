import { PG_EPOCH_OFFSET_US } from '../replication/protocol.js';

/** Postgres timestamp (µs since 2000-01-01 UTC) -> RFC 3339 / ISO-8601 with microseconds, e.g. `2025-01-02T03:04:05.123456Z`. */
export function pgTimestampToIso(pgTime: bigint): string {
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
