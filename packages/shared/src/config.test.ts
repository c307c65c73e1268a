import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@tributary/client';
import { z } from 'zod';
import { baseEnvShape, envBoolean, envInt, envList, envPostgresUrl, parseEnv } from './config.js';

const schema = z.object({
  ...baseEnvShape,
  DATABASE_URL: z.string().url(),
  FEATURE_ON: envBoolean(true),
  BATCH: envInt(100, { min: 1, max: 1000 }),
  TABLES: envList(),
});

describe('parseEnv', () => {
  it('applies defaults and parses values', () => {
    const env = parseEnv(schema, {
      DATABASE_URL: 'postgres://u:p@localhost/db',
      TABLES: 'public.a, public.b,',
    });
    expect(env).toEqual({
      PORT: 8080,
      HOST: '0.0.0.0',
      LOG_LEVEL: 'info',
      HTTP_HEADERS_TIMEOUT_MS: 10_000,
      HTTP_REQUEST_TIMEOUT_MS: 30_000,
      HTTP_KEEP_ALIVE_TIMEOUT_MS: 5_000,
      DATABASE_URL: 'postgres://u:p@localhost/db',
      FEATURE_ON: true,
      BATCH: 100,
      TABLES: ['public.a', 'public.b'],
    });
  });

  it('regression: a DATABASE_URL that does not parse fails, naming the variable', () => {
    const pgSchema = z.object({ DATABASE_URL: envPostgresUrl() });
    for (const bad of ['not a url', 'http://localhost/db', 'postgres://', '://nohost']) {
      expect(() => parseEnv(pgSchema, { DATABASE_URL: bad })).toThrow(/DATABASE_URL: /);
    }
    for (const good of ['postgres://u:p@127.0.0.1:5432/db', 'postgresql://localhost/db?sslmode=disable']) {
      expect(parseEnv(pgSchema, { DATABASE_URL: good }).DATABASE_URL).toBe(good);
    }
  });

  it('server time limits are configurable and range-checked', () => {
    const s = z.object(baseEnvShape);
    expect(parseEnv(s, { HTTP_REQUEST_TIMEOUT_MS: '5000' }).HTTP_REQUEST_TIMEOUT_MS).toBe(5000);
    expect(() => parseEnv(s, { HTTP_HEADERS_TIMEOUT_MS: '0' })).toThrow(/HTTP_HEADERS_TIMEOUT_MS/);
    expect(() => parseEnv(s, { HTTP_KEEP_ALIVE_TIMEOUT_MS: 'soon' })).toThrow(/HTTP_KEEP_ALIVE_TIMEOUT_MS/);
  });

  it('reads "false" as false (unlike z.coerce.boolean)', () => {
    for (const v of ['false', 'FALSE', '0', 'no', 'off']) {
      expect(parseEnv(schema, { DATABASE_URL: 'postgres://x/db', FEATURE_ON: v }).FEATURE_ON).toBe(false);
    }
    expect(parseEnv(schema, { DATABASE_URL: 'postgres://x/db', FEATURE_ON: 'yes' }).FEATURE_ON).toBe(true);
  });

  it('names every bad variable in one error', () => {
    let err: unknown;
    try {
      parseEnv(schema, { PORT: 'eighty', FEATURE_ON: 'maybe', BATCH: '0', LOG_LEVEL: 'loud' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const ce = err as ConfigError;
    expect(ce.retriable).toBe(false);
    expect(ce.code).toBe('CONFIG_INVALID');
    const text = ce.message;
    expect(text).toMatch(/^invalid configuration:/);
    expect(text).toContain('DATABASE_URL: is required but not set');
    expect(text).toMatch(/PORT: .*number/i);
    expect(text).toContain('FEATURE_ON: expected true or false, got "maybe"');
    expect(text).toMatch(/BATCH: .*>=\s*1/);
    expect(text).toMatch(/LOG_LEVEL: /);
    expect(ce.issues).toHaveLength(5);
  });

  it('never echoes a secret value in the error', () => {
    const s = z.object({ BROKER_JWT_SECRET: z.string().min(32) });
    expect(() => parseEnv(s, { BROKER_JWT_SECRET: 'hunter2' })).toThrow(/BROKER_JWT_SECRET: /);
    try {
      parseEnv(s, { BROKER_JWT_SECRET: 'hunter2' });
    } catch (e) {
      expect((e as Error).message).not.toContain('hunter2');
    }
  });
});
