import { describe, expect, it } from '@jest/globals';
import { loadEnv, loadSetupEnv } from './env.js';

const base = { K_SINK: 'http://broker/default/default', STORAGE_EVENTS_TOKEN: 'tok' };

describe('loadEnv', () => {
  it('applies the documented defaults', () => {
    const env = loadEnv(base);
    expect(env).toMatchObject({
      PORT: 8080,
      HOST: '0.0.0.0',
      LOG_LEVEL: 'info',
      STORAGE_EVENTS_BUCKETS: [],
      STORAGE_EVENTS_TARGET_ID: 'TRIBUTARY',
      STORAGE_EVENTS_PUBLISH_TIMEOUT_MS: 10_000,
      STORAGE_EVENTS_PUBLISH_RETRIES: 2,
      STORAGE_EVENTS_SETUP_RETRY_MS: 5_000,
    });
    expect(env.MINIO_ENDPOINT).toBeUndefined();
  });

  it('names every missing or bad variable', () => {
    let message = '';
    try {
      loadEnv({ K_SINK: 'not a url', STORAGE_EVENTS_TARGET_ID: 'a b' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/K_SINK: /);
    expect(message).toMatch(/STORAGE_EVENTS_TOKEN: is required but not set/);
    expect(message).toMatch(/STORAGE_EVENTS_TARGET_ID: letters, digits/);
  });

  it('requires the MinIO connection when buckets are configured', () => {
    expect(() => loadEnv({ ...base, STORAGE_EVENTS_BUCKETS: 'uploads' })).toThrow(
      /MINIO_ENDPOINT: is required when STORAGE_EVENTS_BUCKETS is set[\s\S]*MINIO_ACCESS_KEY[\s\S]*MINIO_SECRET_KEY/,
    );
    const env = loadEnv({
      ...base,
      STORAGE_EVENTS_BUCKETS: 'uploads:events=put',
      MINIO_ENDPOINT: 'http://minio:9000',
      MINIO_ACCESS_KEY: 'a',
      MINIO_SECRET_KEY: 'b',
    });
    expect(env.STORAGE_EVENTS_BUCKETS).toEqual([
      { bucket: 'uploads', prefix: '', suffix: '', events: ['s3:ObjectCreated:*'] },
    ]);
  });

  it('reports a bad rule under STORAGE_EVENTS_BUCKETS', () => {
    expect(() => loadEnv({ ...base, STORAGE_EVENTS_BUCKETS: 'uploads:events=nope' })).toThrow(
      /STORAGE_EVENTS_BUCKETS: unknown event "nope"/,
    );
  });
});

describe('loadSetupEnv', () => {
  it('needs neither K_SINK nor the token', () => {
    expect(loadSetupEnv({ MINIO_ENDPOINT: 'http://127.0.0.1:9000' }).MINIO_ENDPOINT).toBe(
      'http://127.0.0.1:9000',
    );
  });
});
