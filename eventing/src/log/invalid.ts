import type { LogRecord } from './types.js';

/** A stored record that is not a CloudEvent: handed over marked `invalid` (reading `event` throws). */
export function invalidRecord(
  partition: number,
  offset: string,
  key: string | null,
  timestamp: number,
  err: unknown,
): LogRecord {
  const invalid = err instanceof Error ? err : new Error(String(err));
  return {
    partition,
    offset,
    key,
    timestamp,
    invalid,
    get event(): never {
      throw invalid;
    },
  };
}
