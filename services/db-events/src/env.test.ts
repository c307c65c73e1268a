import { describe, expect, it } from '@jest/globals';
import { loadEnv } from './env.js';

const DB = { DATABASE_URL: 'postgres://u:p@localhost/db' };

describe('env', () => {
  it('applies the documented defaults with an HTTP sink', () => {
    const env = loadEnv({ ...DB, K_SINK: 'http://broker/default/default' });
    expect(env).toMatchObject({
      DB_EVENTS_SLOT: 'tributary_db_events',
      DB_EVENTS_PUBLICATION: 'tributary_db_events',
      DB_EVENTS_TABLES: [],
      DB_EVENTS_HEARTBEAT_MS: 10000,
      DB_EVENTS_MAX_IN_FLIGHT: 10000,
      PORT: 8080,
    });
  });
  it('accepts a Kafka sink and a table list', () => {
    const env = loadEnv({
      ...DB,
      KAFKA_BROKERS: 'a:9092,b:9092',
      DB_EVENTS_KAFKA_TOPIC: 'knative-broker-default-default',
      DB_EVENTS_TABLES: 'public.orders, app.users',
    });
    expect(env.KAFKA_BROKERS).toEqual(['a:9092', 'b:9092']);
    expect(env.DB_EVENTS_TABLES).toEqual(['public.orders', 'app.users']);
  });
  it('fails naming the variables when no sink or two sinks are configured', () => {
    expect(() => loadEnv(DB)).toThrow(/K_SINK: no sink configured.*KAFKA_BROKERS and DB_EVENTS_KAFKA_TOPIC/);
    expect(() =>
      loadEnv({ ...DB, K_SINK: 'http://x', KAFKA_BROKERS: 'a:1', DB_EVENTS_KAFKA_TOPIC: 't' }),
    ).toThrow(/K_SINK: set either/);
    expect(() => loadEnv({ ...DB, KAFKA_BROKERS: 'a:1' })).toThrow(/DB_EVENTS_KAFKA_TOPIC: required/);
    expect(() => loadEnv({ ...DB, DB_EVENTS_KAFKA_TOPIC: 't' })).toThrow(/KAFKA_BROKERS: required/);
  });
  it('regression: fails at start-up on a DATABASE_URL that does not parse, naming it', () => {
    for (const bad of [
      'postgres://u:p@host:notaport/db',
      'postgres://u:50%@host/db',
      'mysql://h/db',
      'localhost',
    ]) {
      expect(() => loadEnv({ DATABASE_URL: bad, K_SINK: 'http://127.0.0.1:8080/default/default' })).toThrow(
        /DATABASE_URL: /,
      );
    }
    expect(() =>
      loadEnv({
        DATABASE_URL: 'postgres://u:p@h/db',
        K_SINK: 'http://127.0.0.1:8080/default/default',
        DB_EVENTS_TABLES: 'users',
      }),
    ).toThrow(/DB_EVENTS_TABLES/);
  });

  it('rejects a missing DATABASE_URL and a bad slot name', () => {
    expect(() => loadEnv({ K_SINK: 'http://x' })).toThrow(/DATABASE_URL: is required/);
    expect(() => loadEnv({ ...DB, K_SINK: 'http://x', DB_EVENTS_SLOT: 'Bad-Name' })).toThrow(
      /DB_EVENTS_SLOT/,
    );
  });
});
