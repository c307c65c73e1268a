/**
 * node-postgres has no public API for the replication protocol's CopyBoth mode, so the replication client
 * reads and writes it through `Client#connection`, a private field of pg. This module is the one place that
 * reaches into it: {@link pgConnectionOf} checks the field's shape and refuses (not retriable) a pg whose
 * client lacks it, and `pg-connection.test.ts` drives the installed pg's connection with protocol bytes, so
 * an upgrade of pg that changes the field, its events or its methods fails a test instead of replication.
 */
import { TributaryError } from '@tributary/shared';
import type pg from 'pg';

/** What the replication client uses of pg's `Connection` (pg 8: lib/connection.js). */
export interface PgConnection {
  /** `copyData`: one CopyData message of the CopyBoth stream (`chunk` is its payload). */
  on(event: 'copyData', listener: (msg: { chunk: Buffer }) => void): void;
  /** `replicationStart`: the server answered START_REPLICATION with CopyBothResponse. */
  once(event: string, listener: (...args: unknown[]) => void): void;
  /** Sends one CopyData message (a standby status update). */
  sendCopyFromChunk(chunk: Buffer): void;
  /** The socket: paused for backpressure, destroyed when the stream fails. */
  stream: NodeJS.ReadableStream & { pause(): void; resume(): void; destroy(): void };
}

/** The client's protocol connection, checked; throws `PG_INCOMPATIBLE` (not retriable) when pg changed it. */
export function pgConnectionOf(client: pg.Client): PgConnection {
  const c = (client as unknown as { connection?: unknown }).connection as Partial<PgConnection> | undefined;
  const missing: string[] = [];
  if (!c || typeof c !== 'object') missing.push('connection');
  else {
    for (const m of ['on', 'once', 'sendCopyFromChunk'] as const)
      if (typeof c[m] !== 'function') missing.push(`connection.${m}()`);
    const stream = c.stream as Partial<PgConnection['stream']> | undefined;
    if (!stream || typeof stream !== 'object') missing.push('connection.stream');
    else
      for (const m of ['pause', 'resume', 'destroy'] as const)
        if (typeof stream[m] !== 'function') missing.push(`connection.stream.${m}()`);
  }
  if (missing.length > 0) {
    throw new TributaryError(
      `the installed pg (node-postgres) client has no ${missing.join(', ')}: logical replication needs ` +
        'pg 8 (its private Client#connection); install the pg version in pnpm-workspace.yaml',
      { code: 'PG_INCOMPATIBLE', retriable: false },
    );
  }
  return c as PgConnection;
}
