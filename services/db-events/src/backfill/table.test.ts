/** The SQL of a chunk: keyset pagination by row comparison, literals, filter; and the snapshot's xip. */
import { describe, expect, it } from '@jest/globals';
import { TypeRegistry } from '../decoding/values.js';
import { parseSnapshot } from './runner.js';
import { chunkSql, literal, maxKeySql, type TablePlan } from './table.js';

const types = new TypeRegistry();
const col = (name: string, typeOid: number, typeName: string, inRecord = true) => ({
  name,
  typeOid,
  typeName,
  inRecord,
  convert: types.converter(typeOid),
});

const plan: TablePlan = {
  schema: 'app',
  table: 'Order Lines',
  qualified: 'app.Order Lines',
  quoted: '"app"."Order Lines"',
  columns: [col('tenant', 25, 'text'), col('line', 20, 'bigint'), col('v', 3802, 'jsonb')],
  keyIndexes: [0, 1],
  keyColumns: ['tenant', 'line'],
  where: undefined,
};

describe('chunkSql', () => {
  it('starts at the first key and pages composite keys by row comparison, in key order', () => {
    expect(chunkSql(plan, { limit: 500 })).toBe(
      'SELECT "tenant", "line", "v" FROM "app"."Order Lines" ORDER BY "tenant", "line" LIMIT 500',
    );
    expect(chunkSql(plan, { after: ["o'brien", '42'], upTo: ['zed', '7'], limit: 10 })).toBe(
      `SELECT "tenant", "line", "v" FROM "app"."Order Lines" WHERE ("tenant", "line") > ('o''brien'::text, '42'::bigint) AND ("tenant", "line") <= ('zed'::text, '7'::bigint) ORDER BY "tenant", "line" LIMIT 10`,
    );
  });

  it('adds the filter in parentheses, and reads the largest key the same way', () => {
    const filtered = { ...plan, where: "v ? 'a' OR line < 3" };
    expect(chunkSql(filtered, { limit: 1 })).toContain(`WHERE (v ? 'a' OR line < 3) ORDER BY`);
    expect(maxKeySql(filtered)).toBe(
      `SELECT "tenant", "line" FROM "app"."Order Lines" WHERE (v ? 'a' OR line < 3) ORDER BY "tenant" DESC, "line" DESC LIMIT 1`,
    );
  });

  it('quotes literals with standard strings (a backslash is literal)', () => {
    expect(literal(`a'b\\c`)).toBe(`'a''b\\c'`);
  });
});

describe('parseSnapshot', () => {
  it('takes the in-progress ids and xmax of a pg_snapshot as 32-bit xids', () => {
    expect(parseSnapshot('100:105:101,103')).toEqual({ xip: new Set([101, 103]), xmax: 105 });
    expect(parseSnapshot(`${2 ** 32 + 5}:${2 ** 32 + 9}:${2 ** 32 + 7}`)).toEqual({
      xip: new Set([7]),
      xmax: 9,
    });
    expect(parseSnapshot('100:100:')).toEqual({ xip: new Set(), xmax: 100 });
  });
});
