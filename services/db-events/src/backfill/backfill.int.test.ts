/**
 * Table backfills on real Postgres 17: read events have the shape of inserts, every row arrives once per
 * backfill in key order (composite keys too), a WHERE filter applies, cancel stops it, and tables that cannot
 * be backfilled safely are refused with a coded error.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { EVENT_TYPES, toKafkaMessage, validateEvent } from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';
import { DB_EVENTS_METRICS } from '../metric-names.js';
import {
  type BackfillTestEngine,
  readsOf,
  startBackfill,
  startBackfillEngine,
  waitForState,
} from '../test-support/backfill.js';
import { MemorySink, type TestDb, testDb, waitFor } from '../test-support/harness.js';

describe('table backfill (Postgres 17)', () => {
  let t: TestDb;
  let sink: MemorySink;
  let e: BackfillTestEngine | undefined;

  beforeEach(async () => {
    t = await testDb('dbe_bf');
    sink = new MemorySink();
  });

  afterEach(async () => {
    await e?.stop();
    e = undefined;
    await t.db.query(`DROP SCHEMA IF EXISTS ${t.schema}_dbe CASCADE`);
    await t.cleanup();
  }, 30_000);

  it('emits every existing row as a read event with the shape of an insert', async () => {
    const table = `${t.schema}.items`;
    await t.db.query(`CREATE TABLE ${table} (
      id int PRIMARY KEY, name text, price numeric(10,2), tags text[], meta jsonb, at timestamptz, blob bytea,
      big int8, ok bool, ratio float8)`);
    const insert = (id: number) =>
      t.db.query(
        `INSERT INTO ${table} VALUES ($1::int, 'n' || $1::text, 12.5, '{a,"b c"}', '{"k":[1,2]}', '2024-01-02 03:04:05.123456+02', '\\x0a0b', 9007199254740993, true, 0.1)`,
        [id],
      );
    for (let i = 1; i <= 5; i++) await insert(i);
    e = await startBackfillEngine(t, sink);
    // One row inserted while streaming: its insert event is the reference shape.
    await insert(6);
    await waitFor(() => sink.ofType(EVENT_TYPES.dbRowInserted).length === 1, { message: 'insert event' });
    const id = await startBackfill(t, e, table, { chunkSize: 2 });
    const done = await waitForState(e, id, 'completed');
    expect(done).toMatchObject({ rows_done: '6', events: '6', key_columns: ['id'], total_estimate: '6' });
    const reads = readsOf(sink.events, id);
    expect(reads.map((r) => r.subject)).toEqual(['1', '2', '3', '4', '5', '6']);
    const ins = sink.ofType(EVENT_TYPES.dbRowInserted)[0];
    const read6 = reads[5];
    if (!ins || !read6) throw new Error('missing events');
    expect(read6.id).toBe(`backfill-${id}-6`);
    expect(read6.source).toBe(ins.source);
    expect(read6.subject).toBe(ins.subject);
    expect(read6.partitionkey).toBe(ins.partitionkey);
    expect(read6.backfill).toBe(id);
    expect(read6.txid).toBe('0');
    expect(read6.schema).toBe(ins.schema);
    expect(read6.table).toBe(ins.table);
    const insData = ins.data as Record<string, unknown>;
    const readData = read6.data as Record<string, unknown>;
    expect(readData.record).toEqual(insData.record);
    expect(Object.keys(readData)).toEqual(Object.keys(insData));
    expect(readData).toMatchObject({ type: 'READ', old_record: null, unchanged_toast: [], txid: 0 });
    expect(readData.lsn).toBe(read6.lsn);
    expect(readData.commit_timestamp).toBe(read6.time);
    expect(validateEvent(read6)).toEqual({ ok: true });
    // Read events are counted by table and op READ, next to the insert.
    const changes = (await e.registry.getSingleMetric(DB_EVENTS_METRICS.changes.name)?.get())?.values ?? [];
    const count = (op: string) => changes.find((v) => v.labels.table === table && v.labels.op === op)?.value;
    expect([count('READ'), count('INSERT')]).toEqual([6, 1]);
  });

  it('sends data bytes equal to the insert event of the same row, for every column type', async () => {
    const table = `${t.schema}.types`;
    await t.db.query(`CREATE TYPE ${t.schema}.mood AS ENUM ('ok', 'sad"\\')`);
    await t.db.query(`CREATE TABLE ${table} (
      id int8 PRIMARY KEY, "10" int2, "2" text, s text, v varchar(40), c char(3), n numeric, f8 float8, f4 float4,
      b bool, j jsonb, js json, at timestamptz, ts timestamp, d date, tm time, iv interval, u uuid, ip inet,
      raw bytea, tags text[], grid int4[], stamps timestamptz[], m ${t.schema}.mood, big int8, i4 int4)`);
    // Row i of the backfill and row 1000 + i inserted while streaming carry the same values.
    const values = `(
      $1::int8, ($2 % 300)::int2,
      (ARRAY['two', NULL, ''])[$2 % 3 + 1],
      (ARRAY[E'quote " back \\\\ tab \t nl \n cr \r bs \b ff \f vt \v', E'ctl \x01\x1f\x7f', 'ünïcödé 日本 😀  ', '\\N', ' '])[$2 % 5 + 1],
      'v' || $2, 'c', (ARRAY['12.50', 'NaN', '-0.000001', '123456789012345678901234567890.123'])[$2 % 4 + 1]::numeric,
      (ARRAY['0.1', 'NaN', '-Infinity', '1e20', '5e-324', '-0'])[$2 % 6 + 1]::float8, (ARRAY['0.1', '3.4e38'])[$2 % 2 + 1]::float4,
      $2 % 2 = 0,
      (ARRAY['{"tags": ["a", "b"], "tier": 3}', '{"n": 1.50, "e": 1e-7, "big": 123456789012345678901, "neg": -0, "f": 0.1}',
             '{"1": "first", "b": [true, false, null], "10": {}}', '{"s": "q\\"uote \\\\ \\n \\u0001 é 😀", "": ""}',
             '[1, -2.5, 3.14159265358979, 9007199254740993, 1e2]', '"str"', '42', 'null', '{"x": 1e400}'])[$2 % 9 + 1]::jsonb,
      '{"b": 1, "a": [1.0, "x"], "b": 2}'::json,
      (ARRAY['2024-01-02 03:04:05.123456+02', '0044-03-15 12:00:00+00 BC', 'infinity', '2024-02-29 00:00:00+00'])[$2 % 4 + 1]::timestamptz,
      (ARRAY['2024-01-02 03:04:05.5', '0044-03-15 12:00:00 BC', '-infinity'])[$2 % 3 + 1]::timestamp,
      (ARRAY['2024-02-29', '0044-03-15 BC', 'infinity'])[$2 % 3 + 1]::date,
      '12:34:56.789', '1 day 02:03:04', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '10.0.0.1/8',
      (ARRAY['\\x0a0b', '\\x', NULL])[$2 % 3 + 1]::bytea,
      (ARRAY['{a,"b c",NULL,"q\\"x","back\\\\slash"}', '{}'])[$2 % 2 + 1]::text[], '{{1,2},{3,NULL}}', '{"2024-01-02 03:04:05+00"}',
      (ARRAY['ok', 'sad"\\'])[$2 % 2 + 1]::${t.schema}.mood, 9007199254740993, -$2)`;
    const insert = (id: number, i: number) => t.db.query(`INSERT INTO ${table} VALUES ${values}`, [id, i]);
    const N = 60;
    for (let i = 0; i < N; i++) await insert(i, i);
    e = await startBackfillEngine(t, sink);
    for (let i = 0; i < N; i++) await insert(1000 + i, i);
    await waitFor(() => sink.ofType(EVENT_TYPES.dbRowInserted).length === N, { message: 'insert events' });
    const id = await startBackfill(t, e, table, { chunkSize: 25 });
    await waitForState(e, id, 'completed');
    const reads = readsOf(sink.events, id).filter((r) => Number(r.subject) < 1000);
    const inserts = sink.ofType(EVENT_TYPES.dbRowInserted);
    expect(reads).toHaveLength(N);
    for (let i = 0; i < N; i++) {
      const read = reads[i] as CloudEvent<unknown>;
      const ins = inserts[i] as CloudEvent<unknown>;
      const insData = ins.data as Record<string, unknown> & { record: Record<string, unknown> };
      const readData = read.data as Record<string, unknown>;
      // The insert's data as a read event of that row would carry it, serialised as the Kafka sink does.
      const expected = JSON.stringify({
        ...insData,
        type: 'READ',
        commit_timestamp: readData.commit_timestamp,
        lsn: readData.lsn,
        txid: 0,
        record: { ...insData.record, id: String(i) },
      });
      expect(toKafkaMessage(read).value?.toString()).toBe(expected);
      expect(JSON.stringify(read.data)).toBe(expected);
    }
  });

  it('pages composite keys in key order, and honours the filter; ids are backfill-<id>-<subject>', async () => {
    const table = `${t.schema}.pairs`;
    await t.db.query(`CREATE TABLE ${table} (a text, b int, v int, PRIMARY KEY (a, b))`);
    await t.db.query(
      `INSERT INTO ${table} SELECT chr(97 + (g % 5)) || CASE WHEN g % 3 = 0 THEN ',x' ELSE '' END, g, g FROM generate_series(1, 300) g`,
    );
    e = await startBackfillEngine(t, sink);
    const all = await startBackfill(t, e, table, { chunkSize: 7 });
    await waitForState(e, all, 'completed');
    const { rows } = await t.db.query(`SELECT a, b FROM ${table} ORDER BY a, b`);
    const reads = readsOf(sink.events, all);
    expect(reads.map((r) => r.subject)).toEqual(rows.map((r) => `${r.a},${r.b}`));
    const filtered = await startBackfill(t, e, table, { chunkSize: 50, filter: 'v % 10 = 0' });
    // The total is counted (the planner would guess the filter's selectivity).
    expect((await waitForState(e, filtered, 'completed')).total_estimate).toBe('30');
    const fReads = readsOf(sink.events, filtered);
    expect(fReads).toHaveLength(30);
    expect(fReads.every((r) => (r.data as { record: { v: number } }).record.v % 10 === 0)).toBe(true);
    expect(new Set(fReads.map((r) => r.id)).size).toBe(30);
    expect(fReads[0]?.id).toBe(`backfill-${filtered}-${fReads[0]?.subject}`);
  });

  it('pages keys of many types (uuid, timestamptz, numeric, text) and stays exact under concurrent writes', async () => {
    const table = `${t.schema}.mixed`;
    await t.db.query(`CREATE TABLE ${table} (
      u uuid, at timestamptz, n numeric, s text COLLATE "C", v int NOT NULL, PRIMARY KEY (u, at, n, s))`);
    await t.db.query(
      `INSERT INTO ${table} SELECT md5((g % 7)::text)::uuid, '2024-01-01 00:00:00.000001+00'::timestamptz + (g % 13) * interval '1.5 second',
         (g % 11) / 3.0, 'k''' || g || E'\\,x', 0 FROM generate_series(1, 3000) g`,
    );
    e = await startBackfillEngine(t, sink);
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await t.db.query(
          `UPDATE ${table} SET v = v + 1 WHERE ctid IN (SELECT ctid FROM ${table} TABLESAMPLE SYSTEM (1) LIMIT 3)`,
        );
        await t.db.query(
          `DELETE FROM ${table} WHERE ctid IN (SELECT ctid FROM ${table} TABLESAMPLE SYSTEM (1) LIMIT 1)`,
        );
      }
    })();
    const id = await startBackfill(t, e, table, { chunkSize: 97 });
    await waitForState(e, id, 'completed');
    writing = false;
    await writer;
    await t.db.query(`INSERT INTO ${table} VALUES (gen_random_uuid(), now(), -1, 'end', -1)`);
    await waitFor(() => sink.events.some((ev) => (ev.data as { record?: { v?: number } }).record?.v === -1), {
      message: 'end marker',
    });
    // Replaying every event per key in arrival order gives exactly the table.
    const state = new Map<string, number>();
    for (const ev of sink.events) {
      const data = ev.data as { type: string; record: { v: number } | null };
      if (data.type === 'DELETE') state.delete(ev.subject as string);
      else if (data.record) state.set(ev.subject as string, data.record.v);
    }
    // Subjects are the key columns' text forms as the stream sends them (TimeZone UTC, DateStyle ISO).
    await t.db.query('BEGIN');
    await t.db.query("SET LOCAL TimeZone = 'UTC'");
    const { rows } = await t.db.query<{ subject: string; v: number }>(
      `SELECT concat_ws(',', u, at, n, s) AS subject, v FROM ${table}`,
    );
    await t.db.query('COMMIT');
    const subjectOf = (ev: { subject?: string }) => ev.subject as string;
    const reads = readsOf(sink.events, id);
    expect(new Set(reads.map(subjectOf)).size).toBe(reads.length);
    expect(state.size).toBe(rows.length);
    expect(rows.filter((r) => state.get(r.subject) !== r.v)).toEqual([]);
  });

  it('refuses tables without a primary key, unpublished tables and bad filters, with coded errors', async () => {
    await t.db.query(`CREATE TABLE ${t.schema}.nokey (v int)`);
    await t.db.query(`CREATE SCHEMA ${t.schema}_other`);
    await t.db.query(`CREATE TABLE ${t.schema}_other.hidden (id int PRIMARY KEY)`);
    await t.db.query(`CREATE TABLE ${t.schema}.ok (id int PRIMARY KEY)`);
    try {
      e = await startBackfillEngine(t, sink);
      await expect(startBackfill(t, e, `${t.schema}.nokey`)).rejects.toThrow(
        /^BACKFILL_NO_PRIMARY_KEY: table/,
      );
      await expect(startBackfill(t, e, `${t.schema}.ok`, { filter: 'nope > 1' })).rejects.toThrow(
        /^BACKFILL_INVALID_WHERE: column "nope" does not exist/,
      );
      await expect(startBackfill(t, e, `${t.schema}.ok`, { chunkSize: 0 })).rejects.toThrow(
        /BACKFILL_INVALID_CHUNK_SIZE/,
      );
      await expect(startBackfill(t, e, `${t.schema}.missing`)).rejects.toThrow(/does not exist/);
      // Not in the publication: only db-events knows, so the backfill fails with the reason.
      const id = await startBackfill(t, e, `${t.schema}_other.hidden`);
      const row = await waitFor(async () => {
        const r = await e?.store.get(id);
        return r?.state === 'failed' ? r : undefined;
      });
      expect(row.error).toMatch(/^BACKFILL_TABLE_NOT_PUBLISHED: table .*hidden is not in publication/);
    } finally {
      await t.db.query(`DROP SCHEMA ${t.schema}_other CASCADE`);
    }
  });

  it("writes a chunk's HIGH only once the stream has room: a held sink stops the backfill, nothing is lost", async () => {
    const table = `${t.schema}.held`;
    await t.db.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
    await t.db.query(`INSERT INTO ${table} SELECT generate_series(1, 5000)`);
    sink.hold();
    e = await startBackfillEngine(t, sink, { maxInFlight: 200 });
    const engine = e.engine;
    const id = await startBackfill(t, e, table, { chunkSize: 100 });
    await waitForState(e, id, 'running');
    // Chunks are read ahead, but a chunk's events enter the stream (at its HIGH) only while at most half of
    // maxInFlight (100) are in flight: with nothing accepted, that is two chunks, then the backfill waits.
    await waitFor(() => engine.inFlight >= 200, { timeoutMs: 20_000, message: 'two chunks in flight' });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(engine.inFlight).toBe(200);
    expect(sink.events).toHaveLength(0);
    sink.release();
    await waitForState(e, id, 'completed');
    const ids = readsOf(sink.events, id).map((ev) => Number(ev.subject));
    expect(ids).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
  });

  it('stops a cancelled backfill', async () => {
    const table = `${t.schema}.many`;
    await t.db.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
    await t.db.query(`INSERT INTO ${table} SELECT generate_series(1, 20000)`);
    sink.hold();
    e = await startBackfillEngine(t, sink, { maxInFlight: 200 });
    const id = await startBackfill(t, e, table, { chunkSize: 100 });
    await waitForState(e, id, 'running');
    const { rows } = await t.db.query(`SELECT ${e.dbeSchema}.cancel_backfill($1) AS ok`, [id]);
    expect(rows[0].ok).toBe(true);
    sink.release();
    await new Promise((r) => setTimeout(r, 500));
    const row = await e.store.get(id);
    expect(row?.state).toBe('cancelled');
    // At most the chunks already read when the cancel landed were emitted.
    expect(readsOf(sink.events, id).length).toBeLessThan(20000);
  });
});
