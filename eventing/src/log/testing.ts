import type { BrokerLog, BrokerRef, LogRecord, LogSubscription } from './types.js';

/**
 * Test helper (used by the conformance suites, not by the broker): a subscription that keeps every record
 * it receives and can commit as it goes.
 */
export interface Collector {
  records: LogRecord[];
  subscription: LogSubscription;
  /** Resolves once at least `n` records arrived (rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<LogRecord[]>;
  close(): Promise<void>;
}

export async function collect(
  log: BrokerLog,
  broker: BrokerRef,
  groupId: string,
  options: { initialOffset?: 'earliest' | 'latest'; autoCommit?: boolean } = {},
): Promise<Collector> {
  const records: LogRecord[] = [];
  let waiters: (() => void)[] = [];
  let subscription: LogSubscription | undefined;
  subscription = await log.subscribe(broker, {
    groupId,
    initialOffset: options.initialOffset ?? 'earliest',
    onRecords: async (batch) => {
      records.push(...batch);
      if (options.autoCommit && subscription) {
        const last = new Map<number, string>();
        for (const r of batch) last.set(r.partition, r.offset);
        for (const [partition, offset] of last) {
          await subscription.commit(partition, String(BigInt(offset) + 1n));
        }
      }
      const w = waiters;
      waiters = [];
      for (const f of w) f();
    },
  });
  const sub = subscription;
  return {
    records,
    subscription: sub,
    async waitFor(n, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (records.length < n) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`expected ${n} records, got ${records.length} after ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, 200));
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      return records;
    },
    close: () => sub.close(),
  };
}
