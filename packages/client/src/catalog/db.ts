/** `data` of database change events (DESIGN.md §3.1), after Supabase Database Webhooks. */
import { z } from 'zod';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * A column value. Event data always comes from JSON (a decoded body or record), so the value is JSON by
 * construction; checking it again with `z.json()` (a recursive union) would double the cost of validation.
 */
const columnValue = z.unknown() as unknown as z.ZodType<JsonValue>;

/** A row as JSON: column name -> JSON value (int8/numeric as strings, bytea as base64, ...). */
export const dbRowSchema = z.record(z.string(), columnValue);
export type DbRow = z.infer<typeof dbRowSchema>;

/** Postgres LSN text form, e.g. `0/1A2B3C8`. */
export const lsnSchema = z
  .string()
  .regex(/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/, 'expected an LSN like 0/1A2B3C8');

const changeBase = {
  schema: z.string().min(1),
  table: z.string().min(1),
  commit_timestamp: z.string().min(1),
  lsn: lsnSchema,
  txid: z.number().int().nonnegative(),
  /** TOASTed columns that did not change, left out of `record`. */
  unchanged_toast: z.array(z.string()),
};

export const dbRowInsertedSchema = z.object({
  ...changeBase,
  type: z.literal('INSERT'),
  record: dbRowSchema,
  old_record: z.null(),
});

export const dbRowUpdatedSchema = z.object({
  ...changeBase,
  type: z.literal('UPDATE'),
  record: dbRowSchema,
  /** What REPLICA IDENTITY provides: the key by default (null when it did not change), the row with FULL. */
  old_record: dbRowSchema.nullable(),
});

export const dbRowDeletedSchema = z.object({
  ...changeBase,
  type: z.literal('DELETE'),
  record: z.null(),
  old_record: dbRowSchema,
});

export const dbTableTruncatedSchema = z.object({
  ...changeBase,
  type: z.literal('TRUNCATE'),
  record: z.null(),
  old_record: z.null(),
});

/**
 * An existing row read by a backfill (DESIGN.md §3.1): the shape of an insert, with `type` "READ".
 * `commit_timestamp` is when the chunk was read, `lsn` the chunk's low watermark, `txid` 0 (no writing
 * transaction).
 */
export const dbRowReadSchema = z.object({
  ...changeBase,
  type: z.literal('READ'),
  record: dbRowSchema,
  old_record: z.null(),
});

/** Any row or truncate change. */
export const dbChangeSchema = z.discriminatedUnion('type', [
  dbRowInsertedSchema,
  dbRowUpdatedSchema,
  dbRowDeletedSchema,
  dbTableTruncatedSchema,
]);

/** An outbox message that could not become an event: what was sent and why it failed. */
export const dbMessageInvalidSchema = z.object({
  prefix: z.string(),
  content: z.string(),
  error: z.string(),
  lsn: lsnSchema,
  txid: z.number().int().nonnegative().nullable(),
});

export type DbRowInsertedData = z.infer<typeof dbRowInsertedSchema>;
export type DbRowUpdatedData = z.infer<typeof dbRowUpdatedSchema>;
export type DbRowReadData = z.infer<typeof dbRowReadSchema>;
export type DbRowDeletedData = z.infer<typeof dbRowDeletedSchema>;
export type DbTableTruncatedData = z.infer<typeof dbTableTruncatedSchema>;
export type DbChangeData = z.infer<typeof dbChangeSchema>;
export type DbMessageInvalidData = z.infer<typeof dbMessageInvalidSchema>;
