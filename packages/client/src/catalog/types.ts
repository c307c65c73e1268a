/** Event type names and sources of DESIGN.md §3 (prefix `dev.tributary.`). */

export const EVENT_TYPES = {
  // §3.1 Database changes (db-events)
  dbRowInserted: 'dev.tributary.db.row.inserted',
  dbRowUpdated: 'dev.tributary.db.row.updated',
  dbRowDeleted: 'dev.tributary.db.row.deleted',
  dbTableTruncated: 'dev.tributary.db.table.truncated',
  /** An existing row, emitted by a table backfill (extension `backfill` = the backfill id). */
  dbRowRead: 'dev.tributary.db.row.read',
  /** An outbox message (`pg_logical_emit_message`) that could not become an event. */
  dbMessageInvalid: 'dev.tributary.db.message.invalid',
  // §3.2 Storage (storage-events)
  storageObjectCreated: 'dev.tributary.storage.object.created',
  storageObjectRemoved: 'dev.tributary.storage.object.removed',
  storageObjectAccessed: 'dev.tributary.storage.object.accessed',
  storageObjectRestored: 'dev.tributary.storage.object.restored',
  storageObjectTransitioned: 'dev.tributary.storage.object.transitioned',
  storageObjectReplication: 'dev.tributary.storage.object.replication',
  storageBucketCreated: 'dev.tributary.storage.bucket.created',
  storageBucketRemoved: 'dev.tributary.storage.bucket.removed',
  /** Any other MinIO notification. */
  storageEvent: 'dev.tributary.storage.event',
  // §3.3 Auth (auth-hooks)
  authTokenIssued: 'dev.tributary.auth.token.issued',
  authEmailRequested: 'dev.tributary.auth.email.requested',
  authSmsRequested: 'dev.tributary.auth.sms.requested',
  authMfaAttempted: 'dev.tributary.auth.mfa.attempted',
  authPasswordAttempted: 'dev.tributary.auth.password.attempted',
  authUserCreating: 'dev.tributary.auth.user.creating',
  authUserCreated: 'dev.tributary.auth.user.created',
} as const;

export type TributaryEventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

export const EVENT_TYPE_PREFIX = 'dev.tributary.';

/** Auth hook endpoint name (`/hooks/<name>`) -> event type (DESIGN.md §3.3). */
export const AUTH_HOOK_EVENT_TYPES = {
  'custom-access-token': EVENT_TYPES.authTokenIssued,
  'send-email': EVENT_TYPES.authEmailRequested,
  'send-sms': EVENT_TYPES.authSmsRequested,
  'mfa-verification-attempt': EVENT_TYPES.authMfaAttempted,
  'password-verification-attempt': EVENT_TYPES.authPasswordAttempted,
  'before-user-created': EVENT_TYPES.authUserCreating,
  'after-user-created': EVENT_TYPES.authUserCreated,
} as const;

export type AuthHookName = keyof typeof AUTH_HOOK_EVENT_TYPES;

/** Source of row and truncate events: `/db/<database>/<schema>/<table>`. */
export function dbSource(database: string, schema: string, table: string): string {
  return `/db/${database}/${schema}/${table}`;
}

/** Default source of transactional outbox events: `/db/<database>/messages`. */
export function dbMessagesSource(database: string): string {
  return `/db/${database}/messages`;
}

/** `partitionkey` of a row event: `<schema>.<table>/<subject>` (`<schema>.<table>` without a subject). */
export function dbPartitionKey(schema: string, table: string, subject?: string): string {
  return subject === undefined ? `${schema}.${table}` : `${schema}.${table}/${subject}`;
}

/** Source of storage events: `/storage/<bucket>`. */
export function storageSource(bucket: string): string {
  return `/storage/${bucket}`;
}

/** `partitionkey` of a storage event: `<bucket>/<key>`. */
export function storagePartitionKey(bucket: string, key: string): string {
  return `${bucket}/${key}`;
}

/** Source of every auth event. */
export const AUTH_SOURCE = '/auth';

export function authSource(): string {
  return AUTH_SOURCE;
}
