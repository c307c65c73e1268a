/**
 * Log sequence numbers. Postgres LSNs are unsigned 64-bit positions in the WAL; we keep them as `bigint`
 * and print them the way Postgres does (`%X/%X`: upper-case hex, high and low 32 bits, no padding).
 */
import { TributaryError } from '@tributary/shared';

export type Lsn = bigint;

export const INVALID_LSN: Lsn = 0n;

/** `0/1A2B3C8` -> 27439048n. Throws on anything that is not `<hex>/<hex>`. */
export function parseLsn(text: string): Lsn {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!m) throw new TributaryError(`invalid LSN: "${text}"`, { code: 'INVALID_LSN' });
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

/** 27439048n -> `0/1A2B3C8`, exactly as `pg_lsn` output. */
export function formatLsn(lsn: Lsn): string {
  const hi = Number(lsn >> 32n);
  const lo = Number(lsn & 0xffffffffn);
  return `${hi.toString(16).toUpperCase()}/${lo.toString(16).toUpperCase()}`;
}

export function maxLsn(a: Lsn, b: Lsn): Lsn {
  return a > b ? a : b;
}
