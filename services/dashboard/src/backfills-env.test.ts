// The backfills panel's db-events schema is a start-up setting: a bad name fails naming the variable.
import { describe, expect, it } from '@jest/globals';
import { loadEnv } from './env.js';

const base = { DASHBOARD_JWT_SECRET: 'a-platform-jwt-secret-of-at-least-32-chars' };

describe('DASHBOARD_DB_EVENTS_SCHEMA', () => {
  it("defaults to db-events' default schema and takes another one", () => {
    expect(loadEnv(base).DASHBOARD_DB_EVENTS_SCHEMA).toBe('tributary');
    expect(loadEnv({ ...base, DASHBOARD_DB_EVENTS_SCHEMA: 'shop_events' }).DASHBOARD_DB_EVENTS_SCHEMA).toBe(
      'shop_events',
    );
  });

  it.each(['Tributary', 'a-b', '1st', 'x; DROP TABLE y', 'a'.repeat(64)])('refuses %j', (name) => {
    expect(() => loadEnv({ ...base, DASHBOARD_DB_EVENTS_SCHEMA: name })).toThrow(
      /DASHBOARD_DB_EVENTS_SCHEMA/,
    );
  });
});
