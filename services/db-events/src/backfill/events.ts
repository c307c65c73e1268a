/**
 * The read events of a backfill (DESIGN.md §3.1): `dev.tributary.db.row.read`, with the source, subject,
 * extensions and `data` of an insert, `data.type` "READ", id `backfill-<backfill id>-<subject>` (the same for
 * every delivery of that row in that backfill), extension `backfill`, `lsn` the chunk's low watermark and
 * `time` when the chunk was read.
 */
import { type DbRowReadData, dbSource, EVENT_TYPES } from '@tributary/shared';
import { CloudEvent } from 'cloudevents';
import type { DecodedEvent } from '../decoding/changes.js';
import type { JsonValue } from '../decoding/values.js';
import { formatLsn, type Lsn } from '../replication/lsn.js';
import type { PlanColumn, TablePlan } from './table.js';

export interface ReadContext {
  database: string;
  backfillId: string;
  /** When the chunk was read (ISO-8601). */
  readAt: string;
}

/**
 * A CloudEvent with exactly the own properties, in the same order, that `new CloudEvent(attrs, false)` gives
 * (then frozen, as the SDK does), without the constructor's object spread, per-property deletes and extension
 * scan, which cost more than the rest of a read event together (events.test.ts checks the two are equal). Only
 * for attributes built here: core attributes as strings, JSON `data`, valid extension names.
 */
function readCloudEvent(
  id: string,
  time: string,
  source: string,
  subject: string,
  ext: { schema: string; table: string; lsn: string; partitionkey: string; backfill: string },
  data: DbRowReadData,
): CloudEvent<unknown> {
  const e = Object.create(CloudEvent.prototype) as Record<string, unknown>;
  e.id = id;
  e.time = time;
  e.type = EVENT_TYPES.dbRowRead;
  e.source = source;
  e.specversion = '1.0';
  e.datacontenttype = 'application/json';
  e.subject = subject;
  e.datacontentencoding = undefined;
  e.dataschema = undefined;
  e.data_base64 = undefined;
  e.schemaurl = undefined;
  e.data = data;
  // Extensions, in the order the constructor would copy them.
  e.schema = ext.schema;
  e.table = ext.table;
  e.lsn = ext.lsn;
  e.txid = '0';
  e.partitionkey = ext.partitionkey;
  e.backfill = ext.backfill;
  return Object.freeze(e) as unknown as CloudEvent<unknown>;
}

/** `backfill-<backfill id>-<subject>` */
export function readEventId(backfillId: string, subject: string): string {
  return `backfill-${backfillId}-${subject}`;
}

/** Builds the read events of `rows` (column texts in {@link TablePlan.columns} order). */
export function readEvents(
  plan: TablePlan,
  rows: readonly (string | null)[][],
  lowLsn: Lsn,
  ctx: ReadContext,
): DecodedEvent[] {
  const source = dbSource(ctx.database, plan.schema, plan.table);
  const lsn = formatLsn(lowLsn);
  const cols = plan.columns;
  const keys = plan.keyIndexes;
  const out: DecodedEvent[] = new Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] as (string | null)[];
    const record: Record<string, JsonValue> = {};
    for (let i = 0; i < cols.length; i++) {
      const col = cols[i] as PlanColumn;
      if (!col.inRecord) continue;
      const v = row[i];
      record[col.name] = v === null || v === undefined ? null : col.convert(v);
    }
    let subject = '';
    for (let k = 0; k < keys.length; k++) subject += (k > 0 ? ',' : '') + (row[keys[k] as number] ?? '');
    const data: DbRowReadData = {
      type: 'READ',
      schema: plan.schema,
      table: plan.table,
      commit_timestamp: ctx.readAt,
      lsn,
      txid: 0,
      record,
      old_record: null,
      unchanged_toast: [],
    };
    const event = readCloudEvent(
      readEventId(ctx.backfillId, subject),
      ctx.readAt,
      source,
      subject,
      {
        schema: plan.schema,
        table: plan.table,
        lsn,
        partitionkey: `${plan.qualified}/${subject}`,
        backfill: ctx.backfillId,
      },
      data,
    );
    out[r] = { event, table: plan.qualified, op: 'READ' };
  }
  return out;
}
