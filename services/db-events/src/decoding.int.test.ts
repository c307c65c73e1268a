/** Every operation and every mapped type, decoded from a real Postgres 17 replication stream. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EVENT_TYPES } from '@tributary/shared';
import {
  MemorySink,
  startEngine,
  type TestDb,
  type TestEngine,
  testDb,
  waitFor,
} from './test-support/harness.js';

describe('db-events decoding (Postgres 17)', () => {
  let t: TestDb;
  let sink: MemorySink;
  let eng: TestEngine;
  let database: string;

  beforeAll(async () => {
    t = await testDb('dbe_decode');
    database = (await t.db.query('SELECT current_database() AS d')).rows[0].d;
    const s = t.schema;
    await t.db.query(`
      CREATE TABLE ${s}.items (id int PRIMARY KEY, name text, price numeric(12,2), qty int);
      CREATE TABLE ${s}.types (
        id bigint PRIMARY KEY, b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, num numeric,
        j json, jb jsonb, ts timestamp, tstz timestamptz, d date, by bytea, t text, v varchar(10), u uuid,
        ai int4[], at text[], ajb jsonb[], atstz timestamptz[], a2 int8[][], anum numeric[], ab bool[], iv interval, tm time);
      CREATE TABLE ${s}.docs (id int PRIMARY KEY, title text, body text);
      CREATE TABLE ${s}.full_rows (id int PRIMARY KEY, a text, b int);
      ALTER TABLE ${s}.full_rows REPLICA IDENTITY FULL;
      CREATE TABLE ${s}.pairs (tenant text, n int, v text, PRIMARY KEY (tenant, n));
      CREATE TABLE ${s}.keyless (a int, b text);
      CREATE TABLE ${s}.t1 (id int PRIMARY KEY);
      CREATE TABLE ${s}.t2 (id int PRIMARY KEY);
      CREATE TABLE ${s}.t3 (id int PRIMARY KEY);
    `);
    sink = new MemorySink();
    eng = await startEngine(t, sink, { tables: [`${s}.*`] });
  });

  afterAll(async () => {
    await eng?.engine.stop();
    await t?.cleanup();
  });

  const wait = (pred: () => boolean, message: string) => waitFor(pred, { timeoutMs: 15_000, message });

  it('emits insert, update and delete with Supabase-style records and deterministic ids', async () => {
    const s = t.schema;
    await t.db.query(`INSERT INTO ${s}.items VALUES (1, 'apple', 1.50, 3), (2, 'pear', 2.00, 1)`);
    await t.db.query(`UPDATE ${s}.items SET qty = 4 WHERE id = 1`);
    await t.db.query(`UPDATE ${s}.items SET id = 10 WHERE id = 2`);
    await t.db.query(`DELETE FROM ${s}.items WHERE id = 1`);
    const mine = () => sink.events.filter((e) => e.source === `/db/${database}/${s}/items`);
    await wait(() => mine().length === 5, '5 item events');
    const [i1, i2, u1, u2, d1] = mine();
    expect(i1?.type).toBe(EVENT_TYPES.dbRowInserted);
    expect(i1?.subject).toBe('1');
    expect(i1?.data).toEqual({
      type: 'INSERT',
      schema: s,
      table: 'items',
      record: { id: 1, name: 'apple', price: '1.50', qty: 3 },
      old_record: null,
      commit_timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
      lsn: i1?.lsn,
      txid: expect.any(Number),
      unchanged_toast: [],
    });
    // Two rows of one transaction: same commit LSN, positions 0 and 1.
    expect(i1?.id).toMatch(/^[0-9A-F]+\/[0-9A-F]+-0$/);
    expect(i2?.id).toBe(`${i1?.lsn}-1`);
    expect(i1).toMatchObject({ schema: s, table: 'items', partitionkey: `${s}.items/1` });
    expect(i1?.txid).toBe(String((i1?.data as { txid: number }).txid));
    expect(u1?.type).toBe(EVENT_TYPES.dbRowUpdated);
    expect(u1?.data).toMatchObject({ record: { id: 1, qty: 4 }, old_record: { id: 1 } });
    // The key changed: old_record has the old key, subject the new one.
    expect(u2?.data).toMatchObject({ record: { id: 10, name: 'pear' }, old_record: { id: 2 } });
    expect(u2?.subject).toBe('10');
    expect(d1?.type).toBe(EVENT_TYPES.dbRowDeleted);
    expect(d1?.data).toMatchObject({ type: 'DELETE', record: null, old_record: { id: 1 } });
    expect(d1?.subject).toBe('1');
    // time is the commit time.
    const commit = (i1?.data as { commit_timestamp: string }).commit_timestamp;
    expect(Date.parse(i1?.time as string)).toBe(Date.parse(commit.replace(/(\.\d{3})\d{3}/, '$1')));
  });

  it('maps every type as DESIGN.md §3.1 says', async () => {
    const s = t.schema;
    await t.db.query(
      `INSERT INTO ${s}.types VALUES (
        9007199254740993, true, 32767, -2147483648, -9223372036854775808, 1.5, 2.718281828459045e10, 12345678901234567890.000000001,
        '{"a": [1, "x", null]}', '{"b": {"c": true}}', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.5+05:30', '2024-02-29',
        '\\xdeadbeef00', 'tëxt', 'var', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
        '{1,NULL,3}', '{"a,b","c\\"d",NULL,""}', ARRAY['{"k":1}'::jsonb, '[2]'::jsonb], '{"2024-01-01 00:00:00+00"}',
        '{{1,2},{3,4}}', '{1.10,NULL}', '{t,f}', '1 day 02:03:04', '13:14:15')`,
    );
    await t.db.query(`INSERT INTO ${s}.types (id) VALUES (2)`);
    const mine = () => sink.events.filter((e) => e.source === `/db/${database}/${s}/types`);
    await wait(() => mine().length === 2, 'types events');
    const record = (mine()[0]?.data as { record: Record<string, unknown> }).record;
    expect(record).toEqual({
      id: '9007199254740993',
      b: true,
      i2: 32767,
      i4: -2147483648,
      i8: '-9223372036854775808',
      f4: 1.5,
      f8: 27182818284.59045,
      num: '12345678901234567890.000000001',
      j: { a: [1, 'x', null] },
      jb: { b: { c: true } },
      ts: '2024-02-29T13:14:15.123456',
      tstz: '2024-02-29T07:44:15.5Z',
      d: '2024-02-29',
      by: Buffer.from('deadbeef00', 'hex').toString('base64'),
      t: 'tëxt',
      v: 'var',
      u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      ai: [1, null, 3],
      at: ['a,b', 'c"d', null, ''],
      ajb: [{ k: 1 }, [2]],
      atstz: ['2024-01-01T00:00:00Z'],
      a2: [
        ['1', '2'],
        ['3', '4'],
      ],
      anum: ['1.10', null],
      ab: [true, false],
      iv: '1 day 02:03:04',
      tm: '13:14:15',
    });
    expect(mine()[0]?.subject).toBe('9007199254740993');
    const nulls = (mine()[1]?.data as { record: Record<string, unknown> }).record;
    expect(Object.keys(nulls)).toHaveLength(26);
    expect(Object.entries(nulls).filter(([k, v]) => k !== 'id' && v !== null)).toEqual([]);
  });

  it('leaves unchanged TOASTed columns out of record and names them in unchanged_toast', async () => {
    const s = t.schema;
    // Random text does not compress, so 100 kB is stored out of line (TOAST).
    await t.db.query(
      `INSERT INTO ${s}.docs SELECT 1, 'v1', string_agg(md5(random()::text), '') FROM generate_series(1, 4000)`,
    );
    await t.db.query(`UPDATE ${s}.docs SET title = 'v2' WHERE id = 1`);
    const mine = () => sink.events.filter((e) => e.source === `/db/${database}/${s}/docs`);
    await wait(() => mine().length === 2, 'docs events');
    const ins = mine()[0]?.data as { record: { body: string } };
    expect(ins.record.body).toHaveLength(128_000);
    const upd = mine()[1]?.data as { record: Record<string, unknown>; unchanged_toast: string[] };
    expect(upd.record).toEqual({ id: 1, title: 'v2' });
    expect(upd.unchanged_toast).toEqual(['body']);
  });

  it('gives whole old rows under REPLICA IDENTITY FULL, with the primary key as subject', async () => {
    const s = t.schema;
    await t.db.query(`INSERT INTO ${s}.full_rows VALUES (7, 'x', 1)`);
    await t.db.query(`UPDATE ${s}.full_rows SET b = 2 WHERE id = 7`);
    await t.db.query(`DELETE FROM ${s}.full_rows WHERE id = 7`);
    const mine = () => sink.events.filter((e) => e.source === `/db/${database}/${s}/full_rows`);
    await wait(() => mine().length === 3, 'full identity events');
    const [ins, upd, del] = mine();
    expect(ins?.subject).toBe('7');
    expect(upd?.data).toMatchObject({ record: { id: 7, a: 'x', b: 2 }, old_record: { id: 7, a: 'x', b: 1 } });
    expect(upd?.subject).toBe('7');
    expect(del?.data).toMatchObject({ record: null, old_record: { id: 7, a: 'x', b: 2 } });
    expect(del?.subject).toBe('7');
  });

  it('joins composite keys with "," and leaves subject out for keyless tables', async () => {
    const s = t.schema;
    await t.db.query(`INSERT INTO ${s}.pairs VALUES ('acme', 3, 'x')`);
    await t.db.query(`DELETE FROM ${s}.pairs`);
    await t.db.query(`INSERT INTO ${s}.keyless VALUES (1, 'k')`);
    const pairs = () => sink.events.filter((e) => e.source === `/db/${database}/${s}/pairs`);
    const keyless = () => sink.events.filter((e) => e.source === `/db/${database}/${s}/keyless`);
    await wait(() => pairs().length === 2 && keyless().length === 1, 'pairs and keyless events');
    expect(pairs()[0]?.subject).toBe('acme,3');
    expect(pairs()[0]?.partitionkey).toBe(`${s}.pairs/acme,3`);
    expect(pairs()[1]?.data).toMatchObject({ old_record: { tenant: 'acme', n: 3 } });
    expect(pairs()[1]?.subject).toBe('acme,3');
    expect(keyless()[0]?.subject).toBeUndefined();
    expect(keyless()[0]?.partitionkey).toBe(`${s}.keyless`);
  });

  it('emits one truncated event per table for a truncate of several tables', async () => {
    const s = t.schema;
    await t.db.query(`INSERT INTO ${s}.t1 VALUES (1); INSERT INTO ${s}.t2 VALUES (1)`);
    await t.db.query(`TRUNCATE ${s}.t1, ${s}.t2, ${s}.t3`);
    const truncs = () => sink.ofType(EVENT_TYPES.dbTableTruncated).filter((e) => e.schema === s);
    await wait(() => truncs().length === 3, '3 truncate events');
    const [a, b, c] = truncs();
    expect(new Set(truncs().map((e) => e.table))).toEqual(new Set(['t1', 't2', 't3']));
    expect([a?.id, b?.id, c?.id]).toEqual([0, 1, 2].map((i) => `${a?.lsn}-${i}`));
    expect(a?.subject).toBeUndefined();
    expect(a?.data).toMatchObject({ type: 'TRUNCATE', record: null, old_record: null });
    expect(a?.partitionkey).toBe(`${s}.${a?.table}`);
  });

  it('turns outbox messages into the app event only when the transaction commits, in order', async () => {
    const s = t.schema;
    const msg = (n: number) =>
      JSON.stringify({ type: 'com.example.order.placed', subject: `o${n}`, data: { n }, tenant: 'acme' });
    await t.db.query('BEGIN');
    await t.db.query(`INSERT INTO ${s}.items VALUES (100, 'rolled back', 1, 1)`);
    await t.db.query("SELECT pg_logical_emit_message(true, 'tributary', $1)", [msg(0)]);
    await t.db.query('ROLLBACK');
    await t.db.query('BEGIN');
    await t.db.query("SELECT pg_logical_emit_message(true, 'tributary', $1)", [msg(1)]);
    await t.db.query(`INSERT INTO ${s}.items VALUES (101, 'kept', 1, 1)`);
    await t.db.query("SELECT pg_logical_emit_message(true, 'tributary', $1)", [msg(2)]);
    await t.db.query("SELECT pg_logical_emit_message(true, 'other-app', '{}')");
    await t.db.query('COMMIT');
    await t.db.query("SELECT pg_logical_emit_message(true, 'tributary', $1)", [
      JSON.stringify({ type: 'com.example.custom', source: '/shop', id: 'my-id', data: 'text' }),
    ]);
    const outbox = () => sink.ofType('com.example.order.placed');
    await wait(() => sink.ofType('com.example.custom').length === 1, 'outbox events');
    expect(outbox().map((e) => e.subject)).toEqual(['o1', 'o2']);
    const [first, second] = outbox();
    expect(first).toMatchObject({ source: `/db/${database}/messages`, data: { n: 1 }, tenant: 'acme' });
    const kept = sink.events.find((e) => e.subject === '101' && e.schema === s);
    // Positions within the transaction: message, insert, message.
    expect(first?.id).toMatch(/-0$/);
    expect(kept?.id).toBe((first?.id as string).replace(/-0$/, '-1'));
    expect(second?.id).toBe((first?.id as string).replace(/-0$/, '-2'));
    expect(sink.events.some((e) => e.subject === '100' && e.schema === s)).toBe(false);
    expect(sink.ofType('com.example.custom')[0]).toMatchObject({
      source: '/shop',
      id: 'my-id',
      data: 'text',
    });
  });

  it('reports malformed outbox messages as an event, a metric and a log line without blocking', async () => {
    const s = t.schema;
    await t.db.query("SELECT pg_logical_emit_message(true, 'tributary', 'not json')");
    await t.db.query('SELECT pg_logical_emit_message(true, \'tributary\', \'{"data": 1, "Bad-Ext": 2}\')');
    await t.db.query(`INSERT INTO ${s}.items VALUES (200, 'after', 1, 1)`);
    await wait(() => sink.events.some((e) => e.subject === '200' && e.schema === s), 'the insert after');
    const invalid = sink.ofType(EVENT_TYPES.dbMessageInvalid);
    expect(invalid).toHaveLength(2);
    expect(invalid[0]?.data).toMatchObject({
      prefix: 'tributary',
      content: 'not json',
      error: expect.stringContaining('JSON'),
    });
    expect((invalid[1]?.data as { error: string }).error).toMatch(
      /"type" must be a non-empty string.*Bad-Ext/,
    );
    expect(invalid[0]?.source).toBe(`/db/${database}/messages`);
    const metrics = await eng.registry.getSingleMetricAsString('db_events_messages_total');
    expect(metrics).toContain('db_events_messages_total{outcome="invalid"} 2');
  });

  it('counts changes by table and op', async () => {
    const text = await eng.registry.getSingleMetricAsString('db_events_changes_total');
    expect(text).toContain(`db_events_changes_total{table="${t.schema}.items",op="INSERT"}`);
    expect(text).toContain(`db_events_changes_total{table="${t.schema}.t1",op="TRUNCATE"} 1`);
  });
});
