import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { testEnv, uniqueName, uniquePublication, uniqueSchema, uniqueSlot } from './index.js';

// Generous limits for a loaded 2-core machine (Jest's default is 5 s); not a performance check.
const TIMEOUT_MS = 60_000;

describe('Postgres (real server)', () => {
  const client = new pg.Client({ connectionString: testEnv().databaseUrl });
  const schema = uniqueSchema('smoke');
  const slots: string[] = [];

  beforeAll(async () => {
    await client.connect();
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(`CREATE TABLE ${schema}.orders (id int PRIMARY KEY, note text)`);
  }, TIMEOUT_MS);

  afterAll(async () => {
    // Slots hold back WAL on a shared server: always drop them.
    for (const slot of slots) {
      await client.query('SELECT pg_drop_replication_slot($1)', [slot]).catch(() => {});
    }
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  }, TIMEOUT_MS);

  it(
    'runs Postgres 17 with logical replication enabled',
    async () => {
      const { rows } = await client.query<{ server_version_num: string; wal_level: string }>(
        "SELECT current_setting('server_version_num') AS server_version_num, current_setting('wal_level') AS wal_level",
      );
      expect(Math.floor(Number(rows[0]?.server_version_num) / 10_000)).toBe(17);
      expect(rows[0]?.wal_level).toBe('logical');
    },
    TIMEOUT_MS,
  );

  it(
    'streams an insert through a test_decoding logical replication slot',
    async () => {
      const slot = uniqueSlot('smoke_td');
      slots.push(slot);
      await client.query("SELECT pg_create_logical_replication_slot($1, 'test_decoding')", [slot]);
      await client.query(`INSERT INTO ${schema}.orders VALUES (1, 'hello wal')`);

      const { rows } = await client.query<{ data: string }>(
        'SELECT data FROM pg_logical_slot_get_changes($1, NULL, NULL)',
        [slot],
      );
      const changes = rows.map((r) => r.data);
      expect(changes).toContain(`table ${schema}.orders: INSERT: id[integer]:1 note[text]:'hello wal'`);
      expect(changes[0]).toMatch(/^BEGIN/);
      expect(changes.at(-1)).toMatch(/^COMMIT/);
    },
    TIMEOUT_MS,
  );

  it(
    'streams an insert through a pgoutput slot and publication',
    async () => {
      const slot = uniqueSlot('smoke_po');
      const publication = uniquePublication('smoke');
      slots.push(slot);
      await client.query(`CREATE PUBLICATION ${publication} FOR TABLE ${schema}.orders`);
      await client.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
      const marker = uniqueName('row');
      await client.query(`INSERT INTO ${schema}.orders VALUES (2, $1)`, [marker]);

      const { rows } = await client.query<{ data: Buffer }>(
        "SELECT data FROM pg_logical_slot_get_binary_changes($1, NULL, NULL, 'proto_version', '1', 'publication_names', $2)",
        [slot, publication],
      );
      // pgoutput message types: B(egin), R(elation), I(nsert), C(ommit).
      const types = rows.map((r) => String.fromCharCode(r.data[0]!));
      expect(types).toEqual(['B', 'R', 'I', 'C']);
      const insert = rows[2]!.data.toString('latin1');
      expect(insert).toContain(marker);
      await client.query(`DROP PUBLICATION ${publication}`);
    },
    TIMEOUT_MS,
  );
});
