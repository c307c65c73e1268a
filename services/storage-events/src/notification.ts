import { z } from 'zod';

/**
 * The body MinIO's `notify_webhook` target POSTs (`event.Log` in MinIO's internal/event/event.go):
 * `{ EventName, Key, Records: [record] }`, where `Key` is `<bucket>/<unescaped key>` and each record has
 * the AWS S3 notification shape (event version 2.0). The plain AWS form `{ Records }` is accepted too.
 * Objects are loose: fields MinIO adds in later versions pass through into `data.record`.
 */

const stringMap = z.record(z.string(), z.string());

export const s3ObjectSchema = z.looseObject({
  /** Query-escaped by MinIO (Go `url.QueryEscape`: space -> `+`, others as `%XX`). Empty for bucket events. */
  key: z.string().default(''),
  size: z.number().int().nonnegative().optional(),
  eTag: z.string().optional(),
  contentType: z.string().optional(),
  userMetadata: stringMap.nullish(),
  versionId: z.string().optional(),
  sequencer: z.string().optional(),
});

export const s3RecordSchema = z.looseObject({
  eventVersion: z.string().optional(),
  eventSource: z.string().optional(),
  awsRegion: z.string().optional(),
  eventTime: z.iso.datetime({ offset: true, message: 'eventTime must be an RFC 3339 timestamp' }),
  eventName: z.string().min(1, 'eventName must not be empty'),
  userIdentity: z.looseObject({ principalId: z.string().optional() }).nullish(),
  requestParameters: stringMap.nullish(),
  responseElements: stringMap.nullish(),
  s3: z.looseObject({
    s3SchemaVersion: z.string().optional(),
    configurationId: z.string().optional(),
    bucket: z.looseObject({
      name: z.string().min(1, 'bucket name must not be empty'),
      ownerIdentity: z.looseObject({ principalId: z.string().optional() }).nullish(),
      arn: z.string().optional(),
    }),
    object: s3ObjectSchema.default({ key: '' }),
  }),
  source: z.looseObject({}).nullish(),
});

export const minioNotificationSchema = z.looseObject({
  EventName: z.string().optional(),
  Key: z.string().optional(),
  Records: z.array(s3RecordSchema),
});

export type S3Record = z.output<typeof s3RecordSchema>;
export type MinioNotification = z.output<typeof minioNotificationSchema>;

export type ParsedBody =
  | { kind: 'notification'; notification: MinioNotification }
  /** An empty body, `{}` or an S3 `s3:TestEvent`: a connectivity check, nothing to publish. */
  | { kind: 'ping' }
  | { kind: 'invalid'; issues: string[] };

/** Validates a parsed JSON body (or `undefined` for an empty one). */
export function parseNotificationBody(body: unknown): ParsedBody {
  if (body === undefined || body === null) return { kind: 'ping' };
  if (typeof body === 'object' && !Array.isArray(body)) {
    const o = body as Record<string, unknown>;
    if (Object.keys(o).length === 0) return { kind: 'ping' };
    if (!('Records' in o) && o.Event === 's3:TestEvent') return { kind: 'ping' };
  }
  const res = minioNotificationSchema.safeParse(body);
  if (res.success) return { kind: 'notification', notification: res.data };
  return {
    kind: 'invalid',
    issues: res.error.issues.map(
      (i) => `${i.path.length ? i.path.map(String).join('.') : '(body)'}: ${i.message}`,
    ),
  };
}
