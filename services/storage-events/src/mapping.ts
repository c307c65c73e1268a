import { createHash } from 'node:crypto';
import {
  createCloudEvent,
  EVENT_TYPES,
  type StorageEventData,
  storagePartitionKey,
  storageSource,
} from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';
import type { S3Record } from './notification.js';

export type { StorageEventData } from '@tributary/shared';

/** DESIGN.md §3.2 types (from the catalog in @tributary/shared). */
export const STORAGE_EVENT_TYPES = {
  objectCreated: EVENT_TYPES.storageObjectCreated,
  objectRemoved: EVENT_TYPES.storageObjectRemoved,
  objectAccessed: EVENT_TYPES.storageObjectAccessed,
  objectRestored: EVENT_TYPES.storageObjectRestored,
  objectTransitioned: EVENT_TYPES.storageObjectTransitioned,
  objectReplication: EVENT_TYPES.storageObjectReplication,
  bucketCreated: EVENT_TYPES.storageBucketCreated,
  bucketRemoved: EVENT_TYPES.storageBucketRemoved,
  other: EVENT_TYPES.storageEvent,
} as const;

export type StorageEventType = (typeof STORAGE_EVENT_TYPES)[keyof typeof STORAGE_EVENT_TYPES];

/**
 * MinIO event names are `s3:<Category>:<Operation>` (internal/event/name.go). The type follows the
 * category, so every operation of a category maps the same way:
 *   ObjectCreated: Put, Post, Copy, CompleteMultipartUpload, PutTagging, DeleteTagging, PutRetention, PutLegalHold
 *   ObjectRemoved: Delete, DeleteMarkerCreated, NoOP, DeleteAllVersions
 *   ObjectAccessed: Get, Head, GetRetention, GetLegalHold, Attributes
 *   ObjectRestore: Post, Completed          ObjectTransition: Complete, Failed
 *   Replication: OperationCompletedReplication, OperationFailedReplication, OperationMissedThreshold,
 *                OperationReplicatedAfterThreshold, OperationNotTracked
 *   BucketCreated / BucketRemoved (MinIO sends `s3:BucketCreated:*`)
 * Anything else (s3:Scanner:ManyVersions, s3:Scanner:LargeVersions, s3:Scanner:BigPrefix,
 * s3:LifecycleDelMarkerExpiration:Delete, names of future MinIO versions) -> `dev.tributary.storage.event`.
 */
const CATEGORY_TYPES: Record<string, StorageEventType> = {
  ObjectCreated: STORAGE_EVENT_TYPES.objectCreated,
  ObjectRemoved: STORAGE_EVENT_TYPES.objectRemoved,
  ObjectAccessed: STORAGE_EVENT_TYPES.objectAccessed,
  ObjectRestore: STORAGE_EVENT_TYPES.objectRestored,
  ObjectTransition: STORAGE_EVENT_TYPES.objectTransitioned,
  Replication: STORAGE_EVENT_TYPES.objectReplication,
  BucketCreated: STORAGE_EVENT_TYPES.bucketCreated,
  BucketRemoved: STORAGE_EVENT_TYPES.bucketRemoved,
};

export function eventTypeFor(eventName: string): StorageEventType {
  // "s3:ObjectCreated:Put" -> "ObjectCreated"; tolerate a missing "s3:" prefix.
  const parts = eventName.split(':');
  const category = parts[0] === 's3' ? parts[1] : parts[0];
  return (
    (category !== undefined && Object.hasOwn(CATEGORY_TYPES, category) && CATEGORY_TYPES[category]) ||
    STORAGE_EVENT_TYPES.other
  );
}

/**
 * MinIO query-escapes object keys in records (Go `url.QueryEscape`): `+` is a space, then `%XX` escapes.
 * A malformed escape (which MinIO never produces) leaves those characters as they are.
 */
export function decodeObjectKey(raw: string): string {
  const plus = raw.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus.replace(/%[0-9A-Fa-f]{2}(?:%[0-9A-Fa-f]{2})*/g, (seq) => {
      try {
        return decodeURIComponent(seq);
      } catch {
        return seq;
      }
    });
  }
}

/**
 * Deterministic id. A redelivery from MinIO's queue_dir resends the stored record byte for byte, so every
 * field is stable across redeliveries; these together tell apart every record MinIO produces:
 * the request (x-amz-request-id, x-amz-id-2 = the node, the deployment), what happened (eventName), to what
 * (bucket, raw key, versionId) and when (sequencer = object mod time, eventTime). A multi-object delete
 * shares its request id but differs in key; two reads of one object share the sequencer but differ in
 * request id; scanner events carry no request id but differ in eventTime.
 */
export function eventIdFor(record: S3Record): string {
  const resp = record.responseElements ?? {};
  const obj = record.s3.object;
  const parts = [
    resp['x-minio-deployment-id'] ?? '',
    resp['x-amz-id-2'] ?? '',
    resp['x-amz-request-id'] ?? '',
    record.eventName,
    record.s3.bucket.name,
    obj.key,
    obj.versionId ?? '',
    obj.sequencer ?? '',
    record.eventTime,
  ];
  // NUL cannot occur in any of the fields, so the joined string is unambiguous.
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}

/**
 * The record as MinIO sent it, less `null` members: Go marshals an absent map as `null` (e.g.
 * `requestParameters` of scanner events), which the catalog schema reads as absent.
 */
function withoutNulls(value: unknown): unknown {
  if (!hasNull(value)) return value; // the usual record: nothing to drop, nothing to copy
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = withoutNulls(v);
    return out;
  }
  return value;
}

/** Whether a `null` member appears anywhere below an object (array elements are kept, so not counted). */
function hasNull(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasNull);
  if (value && typeof value === 'object') {
    for (const key in value) {
      const v = (value as Record<string, unknown>)[key];
      if (v === null || hasNull(v)) return true;
    }
  }
  return false;
}

/** Maps one S3 notification record to its CloudEvent (DESIGN.md §3.2). */
export function toCloudEvent(record: S3Record): CloudEvent<StorageEventData> {
  const bucket = record.s3.bucket.name;
  const obj = record.s3.object;
  const key = decodeObjectKey(obj.key);
  const data: StorageEventData = {
    bucket,
    key,
    size: obj.size ?? null,
    eTag: obj.eTag ?? null,
    contentType: obj.contentType ?? null,
    versionId: obj.versionId || null,
    userMetadata: obj.userMetadata ?? {},
    eventName: record.eventName,
    record: withoutNulls(record) as StorageEventData['record'],
  };
  // createCloudEvent checks the attributes with readable reasons (the SDK constructor's ajv validation cost
  // more than the rest of the mapping together); `time` is kept as MinIO sent it.
  return createCloudEvent<StorageEventData>({
    specversion: '1.0',
    id: eventIdFor(record),
    type: eventTypeFor(record.eventName),
    source: storageSource(bucket),
    // The subject must be non-empty when present; bucket events have no key.
    ...(key ? { subject: key } : {}),
    time: record.eventTime,
    datacontenttype: 'application/json',
    data,
    bucket,
    s3eventname: record.eventName,
    partitionkey: storagePartitionKey(bucket, key),
  });
}
