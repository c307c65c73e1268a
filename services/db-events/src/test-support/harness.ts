/** Test helpers: unique names, a recording sink, and an engine wired to the shared test Postgres. */
import { createLogger } from '@tributary/shared';
import { testEnv, uniqueName, waitFor } from '@tributary/testing';
import type { CloudEvent } from 'cloudevents';
import pg from 'pg';
import { Registry } from 'prom-client';
import { createMetrics, type Metrics } from '../metrics.js';
import { DbEvents, type DbEventsOptions } from '../pipeline.js';
import type { Sink } from '../sink/sink.js';

/** A sink that records what it accepts; `hold()` makes sends wait until `release()`. */
export class MemorySink implements Sink {
  readonly kind = 'http' as const;
  readonly events: CloudEvent<unknown>[] = [];
  batches = 0;
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  /** Called with each batch before it is accepted (e.g. to sample memory). */
  onBatch: ((events: readonly CloudEvent<unknown>[]) => void) | undefined;
  /** When true, events are counted but not kept. */
  discard = false;
  count = 0;

  hold(): void {
    this.gate ??= new Promise((r) => {
      this.open = r;
    });
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
    this.open = undefined;
  }

  async send(events: readonly CloudEvent<unknown>[]): Promise<void> {
    while (this.gate) await this.gate;
    this.onBatch?.(events);
    this.batches++;
    this.count += events.length;
    if (!this.discard) this.events.push(...events);
  }

  async close(): Promise<void> {}

  ofType(type: string): CloudEvent<unknown>[] {
    return this.events.filter((e) => e.type === type);
  }
}

export interface TestDb {
  schema: string;
  slot: string;
  publication: string;
  url: string;
  db: pg.Client;
  pool: pg.Pool;
  cleanup(): Promise<void>;
}

/** A fresh schema, slot and publication name, plus connections; `cleanup` drops them all. */
export async function testDb(prefix = 'dbe'): Promise<TestDb> {
  const url = testEnv().databaseUrl;
  const schema = uniqueName(prefix);
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  await db.query(`CREATE SCHEMA ${schema}`);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  return {
    schema,
    slot: schema,
    publication: schema,
    url,
    db,
    pool,
    async cleanup() {
      await waitFor(
        async () => {
          const { rows } = await db.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [
            schema,
          ]);
          return rows.length === 0 || rows[0].active === false;
        },
        { timeoutMs: 10_000, message: 'slot released' },
      ).catch(() => undefined);
      await db.query(
        'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
        [schema],
      );
      await db.query(`DROP PUBLICATION IF EXISTS ${schema}`);
      await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.end();
      await pool.end();
    },
  };
}

export interface TestEngine {
  engine: DbEvents;
  metrics: Metrics;
  registry: Registry;
}

export async function startEngine(
  t: TestDb,
  sink: Sink,
  options: Partial<DbEventsOptions> = {},
): Promise<TestEngine> {
  const registry = new Registry();
  const metrics = createMetrics(registry);
  const engine = new DbEvents({
    connectionString: t.url,
    slot: t.slot,
    publication: t.publication,
    tables: [],
    sink,
    pool: t.pool,
    logger: createLogger({ name: 'db-events-test', level: process.env.TEST_LOG_LEVEL ?? 'warn' }),
    metrics,
    heartbeatMs: 0,
    ...options,
  });
  engine.start();
  await engine.waitUntilConnected();
  return { engine, metrics, registry };
}

/** The slot's confirmed_flush_lsn as text. */
export async function confirmedFlush(t: TestDb): Promise<string> {
  const { rows } = await t.db.query(
    'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
    [t.slot],
  );
  return rows[0]?.lsn as string;
}

/** Reads an LSN text as bigint for comparisons. */
export function lsnValue(text: string): bigint {
  const [hi, lo] = text.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

export { waitFor };
