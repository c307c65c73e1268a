import { describe, expect, it } from '@jest/globals';
import { CloudEvent } from 'cloudevents';
import { TypeRegistry } from '../decoding/values.js';
import { readEvents } from './events.js';
import type { TablePlan } from './table.js';

const types = new TypeRegistry();
const col = (name: string, typeOid: number, inRecord = true) => ({
  name,
  typeOid,
  typeName: 'x',
  inRecord,
  convert: types.converter(typeOid),
});
const plan: TablePlan = {
  schema: 'app',
  table: 'lines',
  qualified: 'app.lines',
  quoted: '"app"."lines"',
  columns: [col('tenant', 25), col('n', 23), col('at', 1184), col('meta', 3802), col('hidden', 23, false)],
  keyIndexes: [0, 4],
  keyColumns: ['tenant', 'hidden'],
  where: undefined,
};

describe('readEvents', () => {
  it('builds the same CloudEvent as the SDK constructor would, with insert-shaped data', () => {
    const [e] = readEvents(plan, [['t1', '5', '2024-01-02 03:04:05+00', '{"a":[1]}', '9']], 0x1a2b3c8n, {
      database: 'db',
      backfillId: 'b1',
      readAt: '2026-12-05T10:00:00.000Z',
    });
    if (!e) throw new Error('no event');
    const { data, ...attrs } = JSON.parse(JSON.stringify(e.event)) as Record<string, unknown>;
    const sdk = new CloudEvent<unknown>({ ...attrs, data }, false);
    expect(Object.keys(e.event)).toEqual(Object.keys(sdk));
    expect(JSON.stringify(e.event)).toBe(JSON.stringify(sdk));
    expect(e.event).toBeInstanceOf(CloudEvent);
    expect(Object.isFrozen(e.event)).toBe(true);
    expect(e.event.validate()).toBe(true);
    expect(e.event).toMatchObject({
      id: 'backfill-b1-t1,9',
      type: 'dev.tributary.db.row.read',
      source: '/db/db/app/lines',
      subject: 't1,9',
      lsn: '0/1A2B3C8',
      partitionkey: 'app.lines/t1,9',
      backfill: 'b1',
      txid: '0',
    });
    // A key column outside the publication's column list pages the table but stays out of the record.
    expect(e.event.data).toEqual({
      type: 'READ',
      schema: 'app',
      table: 'lines',
      commit_timestamp: '2026-12-05T10:00:00.000Z',
      lsn: '0/1A2B3C8',
      txid: 0,
      record: { tenant: 't1', n: 5, at: '2024-01-02T03:04:05Z', meta: { a: [1] } },
      old_record: null,
      unchanged_toast: [],
    });
  });
});
