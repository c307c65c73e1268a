/** `data` of storage events (DESIGN.md §3.2): MinIO bucket notifications. */
import { z } from 'zod';

/** One S3 notification record as MinIO sends it (loose: MinIO may add fields). */
export const s3RecordSchema = z.looseObject({
  eventVersion: z.string().optional(),
  eventSource: z.string().optional(),
  awsRegion: z.string().optional(),
  eventTime: z.string(),
  eventName: z.string(),
  userIdentity: z.looseObject({ principalId: z.string().optional() }).optional(),
  requestParameters: z.record(z.string(), z.unknown()).optional(),
  responseElements: z.record(z.string(), z.unknown()).optional(),
  s3: z.looseObject({
    s3SchemaVersion: z.string().optional(),
    configurationId: z.string().optional(),
    bucket: z.looseObject({
      name: z.string(),
      ownerIdentity: z.looseObject({ principalId: z.string().optional() }).optional(),
      arn: z.string().optional(),
    }),
    object: z
      .looseObject({
        key: z.string(),
        size: z.number().optional(),
        eTag: z.string().optional(),
        contentType: z.string().optional(),
        userMetadata: z.record(z.string(), z.string()).optional(),
        versionId: z.string().optional(),
        sequencer: z.string().optional(),
      })
      .optional(),
  }),
  source: z.looseObject({}).optional(),
});

export const storageEventSchema = z.object({
  bucket: z.string().min(1),
  /** The object key, decoded; empty for bucket events. */
  key: z.string(),
  size: z.number().nonnegative().nullable(),
  eTag: z.string().nullable(),
  contentType: z.string().nullable(),
  versionId: z.string().nullable(),
  userMetadata: z.record(z.string(), z.string()),
  /** MinIO's event name, e.g. `s3:ObjectCreated:Put`. */
  eventName: z.string().min(1),
  /** The original S3 record. */
  record: s3RecordSchema,
});

export type S3Record = z.infer<typeof s3RecordSchema>;
/** `data` of every storage event type. */
export type StorageEventData = z.infer<typeof storageEventSchema>;
