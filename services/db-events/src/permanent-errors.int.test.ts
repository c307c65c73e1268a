/**
 * Permanent errors are not retried (docs/ERRORS.md). Regression (issue 19): a replication slot that exists with
 * another output plugin was retried for ever. It is REPLICATION_SLOT_MISMATCH, not retriable: the engine gives up
 * at once and the service exits non-zero at start-up with a message that says what to do.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ERROR_CODES, TributaryError } from '@tributary/shared';
import { freePort } from '@tributary/testing';
import type { CloudEvent } from 'cloudevents';
import { ReplicationSlotMismatchError } from './replication/errors.js';
import { MemorySink, startEngine, type TestDb, testDb, waitFor } from './test-support/harness.js';
import { spawnDbEvents } from './test-support/process.js';

describe('a replication slot with another output plugin (Postgres 17)', () => {
  let t: TestDb;

  beforeEach(async () => {
    t = await testDb('dbe_slotplugin');
    // test_decoding ships with Postgres; any plugin other than pgoutput makes the slot unusable here.
    await t.db.query("SELECT pg_create_logical_replication_slot($1, 'test_decoding')", [t.slot]);
  });

  afterEach(async () => {
    await t?.cleanup();
  });

  it('is not retried: the engine gives up with REPLICATION_SLOT_MISMATCH', async () => {
    const started = startEngine(t, new MemorySink(), { reconnectInitialMs: 10, reconnectMaxMs: 10 });
    const err = await started.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ReplicationSlotMismatchError);
    expect(err).toBeInstanceOf(TributaryError);
    expect(err).toMatchObject({ code: 'REPLICATION_SLOT_MISMATCH', retriable: false });
    expect(ERROR_CODES.REPLICATION_SLOT_MISMATCH.retriable).toBe(false);
    expect((err as Error).message).toContain(`replication slot "${t.slot}" exists with plugin test_decoding`);
    expect((err as Error).message).toContain('DB_EVENTS_SLOT');
    // The slot is left as it was: db-events never drops what it did not create.
    const { rows } = await t.db.query('SELECT plugin FROM pg_replication_slots WHERE slot_name = $1', [
      t.slot,
    ]);
    expect(rows).toEqual([{ plugin: 'test_decoding' }]);
  });

  it('makes the service exit 1 at start-up, naming the code and the fix', async () => {
    const proc = spawnDbEvents(
      t,
      await freePort(),
      { DB_EVENTS_HEARTBEAT_MS: '0', K_SINK: 'http://127.0.0.1:9/default/default' },
      ['ignore', 'pipe', 'pipe'],
    );
    let output = '';
    proc.stdout?.on('data', (c: Buffer) => {
      output += c.toString('utf8');
    });
    proc.stderr?.on('data', (c: Buffer) => {
      output += c.toString('utf8');
    });
    const code = await new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
    expect(code).toBe(1);
    expect(output).toContain('REPLICATION_SLOT_MISMATCH');
    expect(output).toContain('exists with plugin test_decoding');
    // One attempt, no reconnect loop.
    expect(output).not.toContain('reconnecting');
  });
});

/** Accepts nothing: fails every send with `error`. */
class FailingSink extends MemorySink {
  sends = 0;
  constructor(private readonly error: Error) {
    super();
  }
  override async send(_events: readonly CloudEvent<unknown>[]): Promise<void> {
    this.sends++;
    throw this.error;
  }
}

describe('a sink error while streaming (Postgres 17)', () => {
  let t: TestDb;

  beforeEach(async () => {
    t = await testDb('dbe_permanent');
    await t.db.query(`CREATE TABLE ${t.schema}.items (id int PRIMARY KEY)`);
  });

  afterEach(async () => {
    await t?.cleanup();
  });

  it('stops the engine on a permanent one instead of reconnecting', async () => {
    const sink = new FailingSink(new TributaryError('broker too old', { code: 'KAFKA_INCOMPATIBLE' }));
    const { engine, metrics } = await startEngine(t, sink, {
      tables: [`${t.schema}.items`],
      reconnectInitialMs: 10,
      reconnectMaxMs: 10,
    });
    await t.db.query(`INSERT INTO ${t.schema}.items VALUES (1)`);
    const err = await engine.failed;
    expect(err).toMatchObject({ code: 'KAFKA_INCOMPATIBLE', retriable: false });
    expect(sink.sends).toBe(1);
    expect((await metrics.reconnects.get()).values[0]?.value ?? 0).toBe(0);
    expect(engine.connected).toBe(false);
    await engine.stop(0);
  });

  it('keeps reconnecting after a retriable one', async () => {
    const sink = new FailingSink(new TributaryError('broker down', { code: 'LOG_UNAVAILABLE' }));
    const { engine, metrics } = await startEngine(t, sink, {
      tables: [`${t.schema}.items`],
      reconnectInitialMs: 10,
      reconnectMaxMs: 10,
    });
    await t.db.query(`INSERT INTO ${t.schema}.items VALUES (1)`);
    await waitFor(async () => sink.sends >= 3, { timeoutMs: 30_000, message: 'three attempts' });
    expect((await metrics.reconnects.get()).values[0]?.value).toBeGreaterThanOrEqual(2);
    const settled = await Promise.race([
      engine.failed.then(() => 'failed'),
      Promise.resolve('still running'),
    ]);
    expect(settled).toBe('still running');
    await engine.stop(0);
  });
});
