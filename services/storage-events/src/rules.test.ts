import { describe, expect, it } from '@jest/globals';
import { minioWebhookEnv, parseBucketRules } from './rules.js';

describe('parseBucketRules', () => {
  it('parses the compact form', () => {
    expect(parseBucketRules('uploads:prefix=images/:suffix=.jpg:events=put|delete,avatars')).toEqual([
      {
        bucket: 'uploads',
        prefix: 'images/',
        suffix: '.jpg',
        events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'],
      },
      { bucket: 'avatars', prefix: '', suffix: '', events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'] },
    ]);
  });

  it('accepts MinIO event names, shorthands and percent-escapes', () => {
    expect(
      parseBucketRules(
        ' docs:events=s3:ObjectCreated:Put|get|scanner:prefix=a%3Ab%2Cc , '.replace(
          's3:ObjectCreated:Put',
          's3%3AObjectCreated%3APut',
        ),
      ),
    ).toEqual([
      {
        bucket: 'docs',
        prefix: 'a:b,c',
        suffix: '',
        events: [
          's3:ObjectAccessed:*',
          's3:ObjectCreated:Put',
          's3:Scanner:BigPrefix',
          's3:Scanner:LargeVersions',
          's3:Scanner:ManyVersions',
        ],
      },
    ]);
  });

  it('parses the JSON form', () => {
    expect(
      parseBucketRules('[{"bucket":"uploads","suffix":".png","events":["s3:ObjectCreated:*","delete"]}]'),
    ).toEqual([
      { bucket: 'uploads', prefix: '', suffix: '.png', events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'] },
    ]);
  });

  it('is empty when unset', () => {
    expect(parseBucketRules(undefined)).toEqual([]);
    expect(parseBucketRules('  ')).toEqual([]);
  });

  it.each([
    ['uploads:prefix', /not key=value/],
    ['uploads:color=red', /unknown option "color"/],
    ['uploads:events=bogus', /unknown event "bogus"/],
    ['uploads:events=', /at least one event/],
    ['Not_A_Bucket', /invalid bucket name/],
    ['[{"bucket":1}]', /"bucket" must be a string/],
    ['[nope', /not valid JSON/],
  ])('rejects %s', (value, message) => {
    expect(() => parseBucketRules(value)).toThrow(message);
  });
});

describe('minioWebhookEnv', () => {
  it('is the MinIO server env of the README', () => {
    expect(
      minioWebhookEnv({
        targetId: 'TRIBUTARY',
        endpoint: 'http://storage-events:8080/webhooks/minio',
        token: 's3cret',
        queueDir: '/data/.tributary-events',
      }),
    ).toEqual({
      MINIO_NOTIFY_WEBHOOK_ENABLE_TRIBUTARY: 'on',
      MINIO_NOTIFY_WEBHOOK_ENDPOINT_TRIBUTARY: 'http://storage-events:8080/webhooks/minio',
      MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_TRIBUTARY: 's3cret',
      MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_TRIBUTARY: '/data/.tributary-events',
      MINIO_NOTIFY_WEBHOOK_QUEUE_LIMIT_TRIBUTARY: '100000',
    });
  });
});
