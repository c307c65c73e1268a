import { describe, expect, it } from '@jest/globals';
import { validateEvent } from '@tributary/shared';
import { decodeObjectKey, eventIdFor, eventTypeFor, STORAGE_EVENT_TYPES, toCloudEvent } from './mapping.js';
import { parseNotificationBody, type S3Record } from './notification.js';

/** A record as MinIO sends it (shape of internal/event/event.go, values from a real MinIO run). */
export function minioRecord(
  overrides: {
    eventName?: string;
    bucket?: string;
    key?: string;
    requestId?: string;
    versionId?: string;
    sequencer?: string;
    eventTime?: string;
    object?: Record<string, unknown>;
  } = {},
): S3Record {
  const bucket = overrides.bucket ?? 'uploads';
  const record = {
    eventVersion: '2.0',
    eventSource: 'minio:s3',
    awsRegion: '',
    eventTime: overrides.eventTime ?? '2026-02-20T10:11:12.345Z',
    eventName: overrides.eventName ?? 's3:ObjectCreated:Put',
    userIdentity: { principalId: 'minioadmin' },
    requestParameters: { principalId: 'minioadmin', region: '', sourceIPAddress: '127.0.0.1' },
    responseElements: {
      'x-amz-id-2': 'dd9025bab4ad464b049177c95eb6ebf374d3b3fd1af9251148b658df7ac2e3e8',
      'x-amz-request-id': overrides.requestId ?? '1895A1B2C3D4E5F6',
      'x-minio-deployment-id': '2b1c3a6e-0000-4000-8000-1234567890ab',
      'x-minio-origin-endpoint': 'http://127.0.0.1:9000',
    },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'Config',
      bucket: { name: bucket, ownerIdentity: { principalId: 'minioadmin' }, arn: `arn:aws:s3:::${bucket}` },
      object: {
        key: overrides.key ?? 'images%2Fcat.jpg',
        size: 5,
        eTag: '5d41402abc4b2a76b9719d911017c592',
        contentType: 'image/jpeg',
        userMetadata: { 'content-type': 'image/jpeg', 'X-Amz-Meta-Owner': 'ann' },
        ...(overrides.versionId ? { versionId: overrides.versionId } : {}),
        sequencer: overrides.sequencer ?? '1895A1B2C3D4E000',
        ...overrides.object,
      },
    },
    source: { host: '127.0.0.1', port: '', userAgent: 'MinIO (linux; amd64) minio-js/8.0.6' },
  };
  const parsed = parseNotificationBody({
    EventName: record.eventName,
    Key: `${bucket}/x`,
    Records: [record],
  });
  if (parsed.kind !== 'notification') throw new Error(JSON.stringify(parsed));
  return parsed.notification.Records[0]!;
}

describe('eventTypeFor', () => {
  it.each([
    ['s3:ObjectCreated:Put', STORAGE_EVENT_TYPES.objectCreated],
    ['s3:ObjectCreated:Post', STORAGE_EVENT_TYPES.objectCreated],
    ['s3:ObjectCreated:Copy', STORAGE_EVENT_TYPES.objectCreated],
    ['s3:ObjectCreated:CompleteMultipartUpload', STORAGE_EVENT_TYPES.objectCreated],
    ['s3:ObjectCreated:PutTagging', STORAGE_EVENT_TYPES.objectCreated],
    ['s3:ObjectCreated:DeleteTagging', STORAGE_EVENT_TYPES.objectCreated],
    ['s3:ObjectCreated:PutRetention', STORAGE_EVENT_TYPES.objectCreated],
    ['s3:ObjectCreated:PutLegalHold', STORAGE_EVENT_TYPES.objectCreated],
    ['s3:ObjectRemoved:Delete', STORAGE_EVENT_TYPES.objectRemoved],
    ['s3:ObjectRemoved:DeleteMarkerCreated', STORAGE_EVENT_TYPES.objectRemoved],
    ['s3:ObjectRemoved:NoOP', STORAGE_EVENT_TYPES.objectRemoved],
    ['s3:ObjectRemoved:DeleteAllVersions', STORAGE_EVENT_TYPES.objectRemoved],
    ['s3:ObjectAccessed:Get', STORAGE_EVENT_TYPES.objectAccessed],
    ['s3:ObjectAccessed:Head', STORAGE_EVENT_TYPES.objectAccessed],
    ['s3:ObjectAccessed:GetRetention', STORAGE_EVENT_TYPES.objectAccessed],
    ['s3:ObjectAccessed:GetLegalHold', STORAGE_EVENT_TYPES.objectAccessed],
    ['s3:ObjectAccessed:Attributes', STORAGE_EVENT_TYPES.objectAccessed],
    ['s3:ObjectRestore:Post', STORAGE_EVENT_TYPES.objectRestored],
    ['s3:ObjectRestore:Completed', STORAGE_EVENT_TYPES.objectRestored],
    ['s3:ObjectTransition:Complete', STORAGE_EVENT_TYPES.objectTransitioned],
    ['s3:ObjectTransition:Failed', STORAGE_EVENT_TYPES.objectTransitioned],
    ['s3:Replication:OperationCompletedReplication', STORAGE_EVENT_TYPES.objectReplication],
    ['s3:Replication:OperationFailedReplication', STORAGE_EVENT_TYPES.objectReplication],
    ['s3:Replication:OperationMissedThreshold', STORAGE_EVENT_TYPES.objectReplication],
    ['s3:Replication:OperationReplicatedAfterThreshold', STORAGE_EVENT_TYPES.objectReplication],
    ['s3:Replication:OperationNotTracked', STORAGE_EVENT_TYPES.objectReplication],
    ['s3:BucketCreated:*', STORAGE_EVENT_TYPES.bucketCreated],
    ['s3:BucketRemoved:*', STORAGE_EVENT_TYPES.bucketRemoved],
    ['s3:Scanner:ManyVersions', STORAGE_EVENT_TYPES.other],
    ['s3:Scanner:LargeVersions', STORAGE_EVENT_TYPES.other],
    ['s3:Scanner:BigPrefix', STORAGE_EVENT_TYPES.other],
    ['s3:LifecycleDelMarkerExpiration:Delete', STORAGE_EVENT_TYPES.other],
    ['s3:ILM:Expiry', STORAGE_EVENT_TYPES.other],
    ['s3:SomethingNew:Op', STORAGE_EVENT_TYPES.other],
    ['s3:constructor:x', STORAGE_EVENT_TYPES.other],
    ['ObjectCreated:Put', STORAGE_EVENT_TYPES.objectCreated],
  ])('%s -> %s', (name, type) => {
    expect(eventTypeFor(name)).toBe(type);
  });
});

describe('decodeObjectKey', () => {
  it.each([
    ['a+b', 'a b'],
    ['a%2Bb', 'a+b'],
    ['100%25+done', '100% done'],
    ['photos%2F2026%2Fj%C3%BCrgen+%F0%9F%98%80.png', 'photos/2026/jürgen 😀.png'],
    ['plain.txt', 'plain.txt'],
    ['', ''],
    ['bad%zzescape+%C3%A9', 'bad%zzescape é'],
  ])('%s -> %s', (raw, decoded) => {
    expect(decodeObjectKey(raw)).toBe(decoded);
  });
});

describe('toCloudEvent', () => {
  it('maps a record as DESIGN.md §3.2 says', () => {
    const record = minioRecord({ key: 'images%2Fmy+cat+%2B+dog.jpg', versionId: 'v1' });
    const ce = toCloudEvent(record);
    expect(ce.type).toBe('dev.tributary.storage.object.created');
    expect(ce.source).toBe('/storage/uploads');
    expect(ce.subject).toBe('images/my cat + dog.jpg');
    expect(ce.time).toBe('2026-02-20T10:11:12.345Z');
    expect(ce.datacontenttype).toBe('application/json');
    expect(ce.bucket).toBe('uploads');
    expect(ce.s3eventname).toBe('s3:ObjectCreated:Put');
    expect(ce.partitionkey).toBe('uploads/images/my cat + dog.jpg');
    expect(ce.id).toMatch(/^[0-9a-f]{32}$/);
    expect(ce.data).toEqual({
      bucket: 'uploads',
      key: 'images/my cat + dog.jpg',
      size: 5,
      eTag: '5d41402abc4b2a76b9719d911017c592',
      contentType: 'image/jpeg',
      versionId: 'v1',
      userMetadata: { 'content-type': 'image/jpeg', 'X-Amz-Meta-Owner': 'ann' },
      eventName: 's3:ObjectCreated:Put',
      record,
    });
    expect(ce.validate()).toBe(true);
  });

  it('gives removals nulls for what MinIO leaves out', () => {
    const record = minioRecord({ eventName: 's3:ObjectRemoved:Delete', object: { size: undefined } });
    delete (record.s3.object as Record<string, unknown>).eTag;
    delete (record.s3.object as Record<string, unknown>).contentType;
    delete (record.s3.object as Record<string, unknown>).userMetadata;
    delete (record.s3.object as Record<string, unknown>).size;
    const ce = toCloudEvent(record);
    expect(ce.type).toBe('dev.tributary.storage.object.removed');
    expect(ce.data).toMatchObject({
      size: null,
      eTag: null,
      contentType: null,
      versionId: null,
      userMetadata: {},
    });
  });

  it('has no subject for bucket events', () => {
    const ce = toCloudEvent(minioRecord({ eventName: 's3:BucketCreated:*', key: '' }));
    expect(ce.type).toBe('dev.tributary.storage.bucket.created');
    expect(ce.subject).toBeUndefined();
    expect(ce.partitionkey).toBe('uploads/');
  });
});

describe('eventIdFor', () => {
  it('is the same for the same record (a redelivery)', () => {
    const a = minioRecord();
    const b = JSON.parse(JSON.stringify(a)) as S3Record;
    expect(eventIdFor(b)).toBe(eventIdFor(a));
    expect(toCloudEvent(b).id).toBe(toCloudEvent(a).id);
  });

  it('differs for each object of one request (multi-object delete)', () => {
    const ids = ['a', 'b', 'c'].map((key) =>
      eventIdFor(minioRecord({ eventName: 's3:ObjectRemoved:Delete', key })),
    );
    expect(new Set(ids).size).toBe(3);
  });

  it('differs for each event on one object', () => {
    const names = [
      's3:ObjectCreated:Put',
      's3:ObjectCreated:PutTagging',
      's3:ObjectAccessed:Head',
      's3:ObjectAccessed:Get',
    ];
    const ids = names.map((eventName) => eventIdFor(minioRecord({ eventName })));
    expect(new Set(ids).size).toBe(names.length);
  });

  it('differs for two reads of the same object version (request id)', () => {
    const a = minioRecord({ eventName: 's3:ObjectAccessed:Get', requestId: 'A1' });
    const b = minioRecord({ eventName: 's3:ObjectAccessed:Get', requestId: 'A2' });
    expect(eventIdFor(a)).not.toBe(eventIdFor(b));
  });

  it('differs between versions and between buckets', () => {
    expect(eventIdFor(minioRecord({ versionId: 'v1' }))).not.toBe(
      eventIdFor(minioRecord({ versionId: 'v2' })),
    );
    expect(eventIdFor(minioRecord({ bucket: 'aaa' }))).not.toBe(eventIdFor(minioRecord({ bucket: 'bbb' })));
  });
});

describe('catalog', () => {
  it.each([
    's3:ObjectCreated:Put',
    's3:ObjectRemoved:Delete',
    's3:BucketCreated:*',
    's3:Scanner:ManyVersions',
  ])('%s events pass the catalog schema of their type, also with Go nulls in the record', (eventName) => {
    const record = minioRecord({ eventName, ...(eventName.startsWith('s3:Bucket') ? { key: '' } : {}) });
    (record as Record<string, unknown>).requestParameters = null;
    (record as Record<string, unknown>).source = null;
    const ce = toCloudEvent(record);
    expect(validateEvent(ce, { attributes: true, requireKnownType: true })).toEqual({ ok: true });
    expect(ce.data?.record).not.toHaveProperty('requestParameters');
  });

  it('drops nulls at any depth of the record, keeps null array elements, and keeps a null-free record whole', () => {
    const clean = minioRecord();
    expect(toCloudEvent(clean).data?.record).toEqual(clean);
    const record = minioRecord() as unknown as Record<string, unknown> & { s3: Record<string, unknown> };
    record.s3 = { ...record.s3, bucket: { name: 'uploads', ownerIdentity: null } };
    record.extra = [null, { a: null, b: 1 }];
    const data = toCloudEvent(record as unknown as S3Record).data;
    expect(data?.record.s3.bucket).toEqual({ name: 'uploads' });
    expect((data?.record as unknown as Record<string, unknown>).extra).toEqual([null, { b: 1 }]);
  });
});
