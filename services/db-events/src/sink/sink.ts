import type { CloudEvent } from 'cloudevents';

/**
 * Where events go. `send` delivers a batch in order and resolves only once the sink has durably accepted
 * every event in it (broker 202 / Kafka acks=all); it may retry internally. A rejection means the batch was
 * not (or not entirely) accepted: the caller restarts replication from the last acknowledged commit.
 *
 * Concurrent sends: only a sink with `ordered: true` may be called again before an earlier `send` settles.
 * Such a sink applies the calls in call order: no event of a call is written before every earlier pending call
 * has been accepted, and if an earlier call fails, every later call that was pending with it fails too, having
 * written nothing. So the accepted events are always a prefix of the sent ones, whatever settles first, and a
 * restart from the last acknowledged commit resends them in the original order. A sink without `ordered` gets
 * one `send` at a time.
 */
export interface Sink {
  readonly kind: 'http' | 'kafka';
  /** True if `send` may be called while earlier calls are pending (see above). */
  readonly ordered?: boolean;
  /** Checks, before streaming starts, what can be checked once (a Kafka sink: the brokers' API versions). */
  verify?(): Promise<void>;
  send(events: readonly CloudEvent<unknown>[]): Promise<void>;
  close(): Promise<void>;
}

/** An event the sink refused for good (e.g. 400 or 413): it is logged, counted and skipped, never retried. */
export type RejectedHandler = (event: CloudEvent<unknown>, reason: string) => void;

/** Splits encoded items into consecutive chunks of at most `maxBytes` (an item larger than that goes alone). */
export function chunkBySize<T>(items: readonly T[], size: (item: T) => number, maxBytes: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const n = size(item);
    if (current.length > 0 && bytes + n > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += n;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
