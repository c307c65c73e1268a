// Helpers for tests: unique resource names, the connection details of the shared services, polling.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

let counter = 0;

/** A short suffix unique across Jest workers and runs: time, pid, a per-process counter and randomness. */
function suffix(): string {
  counter = (counter + 1) % 1296;
  return (
    Date.now().toString(36).slice(-5) +
    process.pid.toString(36).slice(-3) +
    counter.toString(36).padStart(2, '0') +
    randomBytes(3).readUIntBE(0, 3).toString(36).padStart(5, '0')
  );
}

function clean(prefix: string, allowed: RegExp, separator: string): string {
  const lowered = prefix.toLowerCase().replace(allowed, separator);
  const trimmed = lowered.replace(/^[^a-z]+/, '').replace(new RegExp(`[${separator}]+$`), '');
  return trimmed || 't';
}

/**
 * A unique lowercase name: `<prefix>_<suffix>`, matching `[a-z][a-z0-9_]*` and at most 63 characters. Valid
 * unquoted as a Postgres identifier (schema, table, publication), as a replication slot name (`[a-z0-9_]`,
 * max 63) and as a Kafka topic. Not valid for S3 buckets (no `_` allowed there): use {@link uniqueBucket}.
 */
export function uniqueName(prefix = 't'): string {
  const tail = suffix();
  const head = clean(prefix, /[^a-z0-9_]+/g, '_').slice(0, 63 - tail.length - 1);
  return `${head}_${tail}`;
}

/** A unique Kafka topic name. */
export const uniqueTopic = (prefix = 'topic'): string => uniqueName(prefix);
/** A unique logical replication slot name. */
export const uniqueSlot = (prefix = 'slot'): string => uniqueName(prefix);
/** A unique publication name. */
export const uniquePublication = (prefix = 'pub'): string => uniqueName(prefix);
/** A unique schema name (usable unquoted). */
export const uniqueSchema = (prefix = 'schema'): string => uniqueName(prefix);

/** A unique S3 bucket name: `<prefix>-<suffix>`, 3-63 characters of `[a-z0-9-]`, starting with a letter. */
export function uniqueBucket(prefix = 'bucket'): string {
  const tail = suffix();
  const head = clean(prefix, /[^a-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .slice(0, 63 - tail.length - 1);
  return `${head.replace(/-+$/, '') || 'b'}-${tail}`;
}

export interface TestEnv {
  /** DATABASE_URL */
  readonly databaseUrl: string;
  /** KAFKA_BROKERS, split on commas */
  readonly kafkaBrokers: string[];
  /** MINIO_ENDPOINT, e.g. `http://127.0.0.1:9000` */
  readonly minioEndpoint: string;
  readonly minioAccessKey: string;
  readonly minioSecretKey: string;
  /** Options for `new Minio.Client(...)` from the `minio` package. */
  readonly minio: { endPoint: string; port: number; useSSL: boolean; accessKey: string; secretKey: string };
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set. Run tests with \`node scripts/test.mjs\` (its Jest global setup starts Postgres, Kafka ` +
        'and MinIO and sets it), or start the services with `pnpm services:up` and ' +
        '`set -a; . ~/.cache/tributary/services.env; set +a`. ' +
        (process.env.TRIBUTARY_TEST_SERVICES
          ? `TRIBUTARY_TEST_SERVICES=${process.env.TRIBUTARY_TEST_SERVICES}. `
          : ''),
    );
  }
  return value;
}

/**
 * The connection details of the shared services, read from the environment the global setup exported.
 * Each property is read (and checked) on access, so a Kafka-only test does not need MinIO.
 */
export function testEnv(): TestEnv {
  return {
    get databaseUrl() {
      return required('DATABASE_URL');
    },
    get kafkaBrokers() {
      return required('KAFKA_BROKERS')
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean);
    },
    get minioEndpoint() {
      return required('MINIO_ENDPOINT');
    },
    get minioAccessKey() {
      return required('MINIO_ACCESS_KEY');
    },
    get minioSecretKey() {
      return required('MINIO_SECRET_KEY');
    },
    get minio() {
      const url = new URL(required('MINIO_ENDPOINT'));
      const useSSL = url.protocol === 'https:';
      return {
        endPoint: url.hostname,
        port: url.port ? Number(url.port) : useSSL ? 443 : 80,
        useSSL,
        accessKey: required('MINIO_ACCESS_KEY'),
        secretKey: required('MINIO_SECRET_KEY'),
      };
    },
  };
}

export interface WaitForOptions {
  /** Default 10 s. */
  timeoutMs?: number;
  /** Default 50 ms. */
  intervalMs?: number;
  /** Describes what was awaited, for the timeout error. */
  message?: string;
}

/**
 * Polls `predicate` until it returns a truthy value (which is returned) or the timeout passes. Errors thrown by
 * the predicate count as "not yet"; the last one is reported on timeout.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 50, message }: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (true) {
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const what = message ?? 'condition';
      const cause = lastError instanceof Error ? `: last error: ${lastError.message}` : '';
      throw new Error(`waitFor: ${what} not met after ${timeoutMs} ms${cause}`, { cause: lastError });
    }
    await sleep(intervalMs);
  }
}
