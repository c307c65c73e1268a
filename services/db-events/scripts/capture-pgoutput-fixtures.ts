/**
 * Captures the pgoutput byte fixtures of `src/decoding/fixtures/pgoutput-pg17.json` from a real Postgres 17.
 *
 *   DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres \
 *     node --import tsx services/db-events/scripts/capture-pgoutput-fixtures.ts
 *
 * (`pnpm services:up` prints a DATABASE_URL; the role must be a superuser for replication origins.)
 * It runs the statements of SCENARIOS in a fresh schema, then reads the raw messages with
 * `pg_logical_slot_get_binary_changes` (the same pgoutput bytes the replication protocol carries in XLogData),
 * once in text mode and once with `binary 'true'`, and drops everything it created.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL must point at a Postgres 17 with wal_level=logical');

const schema = 'fx';
const slots = { text: 'fx_text', binary: 'fx_binary' } as const;

/** Each scenario is one or more transactions; the comment says what the messages are there to show. */
const SCENARIOS: { name: string; sql: string[] }[] = [
  {
    name: 'insert: every column kind, a NULL, an enum (Type message) and a TOASTed value',
    sql: [
      `insert into fx.items (id, name, price, tags, meta, big, mood, flag, data, at, note)
       values (1, 'ada', 12.50, '{a,"b c"}', '{"x":[1,2]}', repeat('x', 4000), 'happy', true, '\\xdeadbeef',
               '2024-05-01 10:20:30.123456+00', null)`,
    ],
  },
  {
    name: 'update leaving the TOASTed column unchanged (u) and the key unchanged (no old tuple)',
    sql: [`update fx.items set name = 'ada lovelace' where id = 1`],
  },
  {
    name: 'update of the primary key: old key tuple (K)',
    sql: [`update fx.items set id = 2 where id = 1`],
  },
  {
    name: 'REPLICA IDENTITY FULL: insert, update with the old row (O), delete with the old row (O)',
    sql: [
      `insert into fx.audit (id, note) values (7, 'first')`,
      `update fx.audit set note = 'second' where id = 7`,
      `delete from fx.audit where id = 7`,
    ],
  },
  {
    name: 'delete under the default identity: old key (K)',
    sql: [`delete from fx.items where id = 2`],
  },
  {
    name: 'transactional outbox message beside a change, then a non-transactional message',
    sql: [
      `begin`,
      `insert into fx.audit (id, note) values (8, 'with message')`,
      `select pg_logical_emit_message(true, 'tributary', '{"type":"com.example.hello","data":{"n":1}}')`,
      `commit`,
      `select pg_logical_emit_message(false, 'tributary-heartbeat', 'beat')`,
    ],
  },
  {
    name: 'truncate of two tables with RESTART IDENTITY CASCADE',
    sql: [`truncate fx.items, fx.audit restart identity cascade`],
  },
  {
    name: 'a transaction replayed from another origin (Origin message)',
    sql: [
      `select pg_replication_origin_session_setup('fx_origin')`,
      `begin`,
      `select pg_replication_origin_xact_setup('0/ABCDEF', '2024-05-01 10:20:30+00')`,
      `insert into fx.audit (id, note) values (9, 'replayed')`,
      `commit`,
      `select pg_replication_origin_session_reset()`,
    ],
  },
];

const client = new pg.Client({ connectionString: url });
await client.connect();
const cleanup = async () => {
  for (const slot of Object.values(slots)) {
    await client.query(
      `select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1`,
      [slot],
    );
  }
  await client.query(`drop publication if exists fx_pub`);
  await client.query(`drop schema if exists ${schema} cascade`);
  await client.query(
    `select pg_replication_origin_drop('fx_origin') where exists (select from pg_replication_origin where roname = 'fx_origin')`,
  );
};
try {
  await cleanup();
  // The settings db-events opens its replication connection with: output functions run in this session.
  await client.query(
    `set datestyle = ISO; set timezone = UTC; set bytea_output = hex; set extra_float_digits = 3`,
  );
  const version = (await client.query<{ v: string }>(`select version() as v`)).rows[0]?.v ?? '';
  if (!/PostgreSQL 17/.test(version)) throw new Error(`expected Postgres 17, got ${version}`);
  await client.query(`create schema ${schema}`);
  await client.query(`create type fx.mood as enum ('happy', 'sad')`);
  await client.query(`create table fx.items (
    id int8 primary key, name text, price numeric, tags text[], meta jsonb, big text, mood fx.mood,
    flag bool, data bytea, at timestamptz, note text)`);
  // Out of line and uncompressed, so 4000 bytes are TOASTed and an update that does not touch it sends `u`.
  await client.query(`alter table fx.items alter column big set storage external`);
  await client.query(`create table fx.audit (id int4, note text)`);
  await client.query(`alter table fx.audit replica identity full`);
  await client.query(`create publication fx_pub for table fx.items, fx.audit`);
  await client.query(`select pg_replication_origin_create('fx_origin')`);
  for (const slot of Object.values(slots)) {
    await client.query(`select pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
  }

  for (const s of SCENARIOS) for (const sql of s.sql) await client.query(sql);

  const read = async (slot: string, binary: boolean) => {
    const { rows } = await client.query<{ lsn: string; xid: string; data: Buffer }>(
      `select lsn::text, xid::text, data from pg_logical_slot_get_binary_changes($1, null, null,
         'proto_version', '1', 'publication_names', 'fx_pub', 'messages', 'true', 'binary', $2)`,
      [slot, binary ? 'true' : 'false'],
    );
    return rows.map((r) => ({ lsn: r.lsn, hex: r.data.toString('hex') }));
  };
  const fixture = {
    note:
      'pgoutput protocol version 1 messages captured from a real Postgres by ' +
      'services/db-events/scripts/capture-pgoutput-fixtures.ts (see its header for how to re-run it). ' +
      'Generated test data; no third-party content.',
    postgres: version,
    options: { proto_version: '1', publication_names: 'fx_pub', messages: 'true' },
    scenarios: SCENARIOS.map((s) => s.name),
    text: await read(slots.text, false),
    binary: await read(slots.binary, true),
  };
  const out = join(import.meta.dirname, '../src/decoding/fixtures/pgoutput-pg17.json');
  writeFileSync(out, `${JSON.stringify(fixture, null, 2)}\n`);
  process.stdout.write(`wrote ${fixture.text.length} + ${fixture.binary.length} messages to ${out}\n`);
} finally {
  await cleanup();
  await client.end();
}
