// Test fixture: runs the broker ingress in its own process so a test can SIGKILL it mid-stream.
// Usage: node --conditions=development --import tsx ingress-process.ts '<json config>'
//   config: { backend: 'kafka' | 'postgres', port, broker: {namespace, name}, kafkaBrokers?, databaseUrl?, schema?,
//             partitions? (kafka, default 3), catalog? (validate data with the catalog, default false) }
// Also used by bench/src/ingress.bench.ts.
// Prints `LISTENING <url>` once it accepts requests.
import { createLogger } from '@tributary/shared';
import { createKafkaLog } from '../../log/kafka/kafka-log.js';
import { createPostgresLog } from '../../log/postgres/postgres-log.js';
import type { BrokerLog, BrokerRef } from '../../log/types.js';
import { createIngress, knownBrokers } from '../app.js';

interface Config {
  backend: 'kafka' | 'postgres';
  port: number;
  broker: BrokerRef;
  kafkaBrokers?: string[];
  databaseUrl?: string;
  schema?: string;
  partitions?: number;
  catalog?: boolean;
}

const config = JSON.parse(process.argv[2] ?? '{}') as Config;
const logger = createLogger({ name: 'ingress-fixture', level: 'warn', destination: process.stderr });
const log: BrokerLog =
  config.backend === 'kafka'
    ? createKafkaLog({ brokers: config.kafkaBrokers ?? [], partitions: config.partitions ?? 3, logger })
    : createPostgresLog({ databaseUrl: config.databaseUrl!, schema: config.schema!, logger });
await log.ensureBroker(config.broker);
const app = createIngress({
  log,
  brokers: knownBrokers([config.broker]),
  logger,
  ...(config.catalog ? {} : { validate: () => ({ ok: true as const }) }),
});
const address = await app.listen({ port: config.port, host: '127.0.0.1' });
process.stdout.write(`LISTENING ${address}\n`);
process.on('SIGTERM', () => {
  void app
    .close()
    .then(() => log.close())
    .then(() => process.exit(0));
});
