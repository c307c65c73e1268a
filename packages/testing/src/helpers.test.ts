import { describe, expect, it } from '@jest/globals';
import {
  freePort,
  testEnv,
  uniqueBucket,
  uniqueName,
  uniquePublication,
  uniqueSchema,
  uniqueSlot,
  uniqueTopic,
  waitFor,
} from './index.js';

describe('uniqueName', () => {
  it('gives distinct lowercase identifiers that keep a readable prefix', () => {
    const names = Array.from({ length: 2000 }, () => uniqueName('Orders-Table'));
    expect(new Set(names).size).toBe(names.length);
    for (const name of names.slice(0, 50)) {
      expect(name).toMatch(/^orders_table_[a-z0-9]+$/);
    }
  });

  it('is valid for replication slots, publications, schemas and topics even for odd or long prefixes', () => {
    const prefixes = ['', '9lives', 'ÜBER spaß!', '___', 'x'.repeat(200), 'a.b/c'];
    for (const prefix of prefixes) {
      for (const name of [
        uniqueName(prefix),
        uniqueSlot(prefix),
        uniquePublication(prefix),
        uniqueSchema(prefix),
      ]) {
        // Postgres: NAMEDATALEN-1 = 63 bytes; slots allow only [a-z0-9_]; unquoted identifiers start with a letter.
        expect(name).toMatch(/^[a-z][a-z0-9_]{0,62}$/);
      }
      // Kafka topics: [a-zA-Z0-9._-], at most 249 characters.
      expect(uniqueTopic(prefix)).toMatch(/^[a-zA-Z0-9._-]{1,249}$/);
    }
  });
});

describe('uniqueBucket', () => {
  it('is a valid S3 bucket name for odd or long prefixes', () => {
    for (const prefix of ['', 'My_Bucket', '--', 'ÜBER spaß!', 'b'.repeat(100), 'a..b']) {
      const name = uniqueBucket(prefix);
      expect(name).toMatch(/^[a-z][a-z0-9-]{1,61}[a-z0-9]$/);
      expect(name).not.toMatch(/--/);
    }
    expect(uniqueBucket('photos')).toMatch(/^photos-[a-z0-9]+$/);
  });
});

describe('testEnv', () => {
  it('names the missing variable and how to set it', () => {
    const saved = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    try {
      expect(() => testEnv().databaseUrl).toThrow(/DATABASE_URL is not set.*services:up/);
    } finally {
      if (saved !== undefined) process.env.DATABASE_URL = saved;
    }
  });

  it('derives MinIO client options from MINIO_ENDPOINT', () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      MINIO_ENDPOINT: 'http://127.0.0.1:9123',
      MINIO_ACCESS_KEY: 'ak',
      MINIO_SECRET_KEY: 'sk-secret',
      KAFKA_BROKERS: '127.0.0.1:1, 127.0.0.1:2',
    });
    try {
      expect(testEnv().minio).toEqual({
        endPoint: '127.0.0.1',
        port: 9123,
        useSSL: false,
        accessKey: 'ak',
        secretKey: 'sk-secret',
      });
      expect(testEnv().kafkaBrokers).toEqual(['127.0.0.1:1', '127.0.0.1:2']);
    } finally {
      for (const key of ['MINIO_ENDPOINT', 'MINIO_ACCESS_KEY', 'MINIO_SECRET_KEY', 'KAFKA_BROKERS']) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  });
});

describe('waitFor', () => {
  it('returns the first truthy value', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { calls } : undefined), { intervalMs: 1 });
    expect(value).toEqual({ calls: 3 });
  });

  it('reports the last error when the condition is never met', async () => {
    await expect(
      waitFor(
        () => {
          throw new Error('not yet');
        },
        { timeoutMs: 20, intervalMs: 5, message: 'the thing' },
      ),
    ).rejects.toThrow('waitFor: the thing not met after 20 ms: last error: not yet');
  });
});

describe('freePort', () => {
  it('returns a bindable port', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65536);
  });
});
