import type { Context } from '@tributary/function-runtime';
import {
  EVENT_TYPE_PREFIX,
  EVENT_TYPES,
  inLockedTransaction,
  parseEnv,
  quoteIdent,
  quoteTable,
} from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';
import pg from 'pg';
import { z } from 'zod';

/**
 * The data fields the audit line reads: db-events' change (`schema`, `table`, `old_record`) or a storage
 * event (`bucket`, `key`). Any other event, or one without data, is audited by its attributes alone.
 */
export const schema = z
  .looseObject({
    schema: z.string().optional(),
    table: z.string().optional(),
    old_record: z.record(z.string(), z.unknown()).nullish(),
    bucket: z.string().optional(),
    key: z.string().optional(),
  })
  .optional();

export type AuditedData = z.infer<typeof schema>;

/** One audited change: what the log line carries and the `audit_log` row holds. */
export interface AuditEntry {
  /** `row.deleted`, `table.truncated`, `object.removed`, `bucket.removed`, or the type without its prefix. */
  action: string;
  /** What was removed: `<schema>.<table>/<key>`, `<schema>.<table>`, `<bucket>/<key>`, `<bucket>`. */
  resource: string;
  type: string;
  source: string;
  eventId: string;
  subject: string | null;
  /** When it happened (the event's `time`: the commit time, MinIO's eventTime). */
  occurredAt: string | null;
  /** The removed row (as REPLICA IDENTITY provides it) or object, when the event has it. */
  details: Record<string, unknown> | null;
}

/** Builds the audit entry of one event (pure: no I/O). */
export function auditEntry(event: CloudEvent<AuditedData>): AuditEntry {
  const data = event.data ?? {};
  const subject = event.subject ?? null;
  const table = data.schema && data.table ? `${data.schema}.${data.table}` : undefined;
  let action = event.type.startsWith(EVENT_TYPE_PREFIX)
    ? event.type.slice(EVENT_TYPE_PREFIX.length).replace(/^(db|storage)\./, '')
    : event.type;
  let resource = subject ?? event.source;
  let details: Record<string, unknown> | null = null;
  switch (event.type) {
    case EVENT_TYPES.dbRowDeleted:
      action = 'row.deleted';
      resource = `${table ?? event.source}${subject !== null ? `/${subject}` : ''}`;
      details = data.old_record ?? null;
      break;
    case EVENT_TYPES.dbTableTruncated:
      action = 'table.truncated';
      resource = table ?? event.source;
      break;
    case EVENT_TYPES.storageObjectRemoved:
      action = 'object.removed';
      resource = `${data.bucket ?? event.source}/${data.key ?? subject ?? ''}`;
      details = pick(data, ['bucket', 'key', 'versionId', 'eventName']);
      break;
    case EVENT_TYPES.storageBucketRemoved:
      action = 'bucket.removed';
      resource = data.bucket ?? event.source;
      break;
  }
  return {
    action,
    resource,
    type: event.type,
    source: event.source,
    eventId: event.id,
    subject,
    occurredAt: event.time ? String(event.time) : null,
    details,
  };
}

function pick(data: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (data[k] !== undefined) out[k] = data[k];
  return out;
}

const envSchema = z.object({
  /** Where audit rows go; unset = the log line only. */
  DATABASE_URL: z.string().min(1).optional(),
  AUDIT_LOG_TABLE: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/, 'AUDIT_LOG_TABLE must be schema.table')
    .default('tributary_audit.audit_log'),
});

let pool: pg.Pool | undefined;
let table = '"tributary_audit"."audit_log"';

/**
 * With DATABASE_URL: connects and creates the audit table (and its schema) when missing. Serialised by an
 * advisory lock, as several instances may start at once.
 */
export async function init(env: Record<string, string | undefined> = process.env): Promise<void> {
  const config = parseEnv(envSchema, env);
  const [schemaName] = config.AUDIT_LOG_TABLE.split('.') as [string, string];
  table = quoteTable(config.AUDIT_LOG_TABLE);
  if (!config.DATABASE_URL) return;
  pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 4 });
  const ready = pool;
  try {
    await inLockedTransaction(ready, 'tributary_audit_log_ddl', async (client) => {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schemaName)}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${table} (
        source text NOT NULL,
        event_id text NOT NULL,
        type text NOT NULL,
        action text NOT NULL,
        resource text NOT NULL,
        subject text,
        occurred_at timestamptz,
        details jsonb,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (source, event_id)
      )`);
    });
  } catch (err) {
    await ready.end();
    pool = undefined;
    throw err;
  }
}

export async function shutdown(): Promise<void> {
  await pool?.end();
  pool = undefined;
}

/**
 * Writes one audit line (pino, `msg: "audit"`) and, with a database, one row keyed by (source, id): the
 * broker delivers at least once and ids are deterministic, so a redelivery adds nothing. Returns nothing
 * (204); a database error is thrown and retried by the broker.
 */
export async function handle(context: Context, event: CloudEvent<AuditedData>): Promise<void> {
  const entry = auditEntry(event);
  if (pool) {
    await pool.query(
      `INSERT INTO ${table} (source, event_id, type, action, resource, subject, occurred_at, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (source, event_id) DO NOTHING`,
      [
        entry.source,
        entry.eventId,
        entry.type,
        entry.action,
        entry.resource,
        entry.subject,
        entry.occurredAt,
        entry.details === null ? null : JSON.stringify(entry.details),
      ],
    );
  }
  // The removed row stays in the table; the log line names what was removed, not its contents.
  const { details: _details, ...line } = entry;
  context.log.info({ audit: line }, 'audit');
}
