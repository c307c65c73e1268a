import { type Context, NonRetriableError, TributaryError } from '@tributary/function-runtime';
import { parseEnv, quoteTable } from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';
import pg from 'pg';
import { z } from 'zod';

/** The fields of `dev.tributary.storage.object.created` data this function stores. */
export const schema = z.looseObject({
  bucket: z.string().min(1),
  key: z.string().min(1),
  size: z.number().int().nonnegative().nullable().optional(),
  eTag: z.string().nullable().optional(),
  contentType: z.string().nullable().optional(),
});
export type ObjectCreated = z.infer<typeof schema>;

const envSchema = z.object({
  DATABASE_URL: z.string().min(1, 'DATABASE_URL is required'),
  FILES_TABLE: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/, 'FILES_TABLE must be schema.table')
    .default('public.files'),
});

let pool: pg.Pool | undefined;
let table = 'public.files';

/** Connects once per instance (Knative Functions `init`). */
export function init(env: Record<string, string | undefined> = process.env): void {
  const config = parseEnv(envSchema, env);
  pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 4 });
  table = config.FILES_TABLE;
}

export async function shutdown(): Promise<void> {
  await pool?.end();
  pool = undefined;
}

/**
 * Upserts the object into the files table. Idempotent: a redelivered event writes the same row again, so
 * the broker's at-least-once delivery is safe. Returns nothing (204).
 */
export async function handle(context: Context, event: CloudEvent<ObjectCreated>): Promise<void> {
  if (!pool) throw new TributaryError('file-indexer not initialised', { code: 'NOT_READY' });
  const o = event.data;
  if (!o) throw new NonRetriableError('event has no data');
  await pool.query(
    `insert into ${quoteTable(table)} (bucket, key, size, content_type, etag, indexed_at)
     values ($1, $2, $3, $4, $5, now())
     on conflict (bucket, key) do update
       set size = excluded.size, content_type = excluded.content_type, etag = excluded.etag, indexed_at = now()`,
    [o.bucket, o.key, o.size ?? null, o.contentType ?? null, o.eTag ?? null],
  );
  context.log.info({ bucket: o.bucket, key: o.key }, 'indexed file');
}
