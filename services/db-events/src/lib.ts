/** Library entry: the replication client, decoder and engine, for tests, benchmarks and embedding. */
export { buildApp, createSink, type DbEventsApp } from './app.js';
export { BACKFILL_ERROR_CODES, BackfillError } from './backfill/errors.js';
export { readEventId } from './backfill/events.js';
export { BackfillRunner, type BackfillRunnerOptions } from './backfill/runner.js';
export { BACKFILL_STATES, type BackfillState, ensureBackfillSchema } from './backfill/schema.js';
export { type BackfillRow, BackfillStore } from './backfill/store.js';
// Event types and `data` shapes are the catalog's: import them from @tributary/shared.
export { ChangeDecoder, changeEvent, HEARTBEAT_PREFIX, OUTBOX_PREFIX } from './decoding/changes.js';
export { decodePgOutput, type PgOutputMessage } from './decoding/pgoutput.js';
export { parseArray, TypeRegistry } from './decoding/values.js';
export { type Env, envSchema, loadEnv } from './env.js';
export { createMetrics, type Metrics } from './metrics.js';
export { DbEvents, type DbEventsOptions } from './pipeline.js';
export { ReplicationClient, type ReplicationClientOptions } from './replication/client.js';
export { formatLsn, type Lsn, parseLsn } from './replication/lsn.js';
export { HttpSink } from './sink/http.js';
export { KafkaSink } from './sink/kafka.js';
export type { Sink } from './sink/sink.js';
