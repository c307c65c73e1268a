// The Kafka log's linger for a publisher that appends strictly one event at a time (storage-events behind
// MinIO's one-at-a-time webhook queue, a CLI publish, a sequential SDK caller): time per append with the
// default 5 ms linger against linger 0, same log settings, alternating rounds in the same run; and 32
// concurrent callers with each setting, to show that concurrent appends still share produce requests.
//   pnpm bench append-linger
// Env: BENCH_APPENDS (default 400 per round), BENCH_ROUNDS (default 3), KAFKA_BROKERS (else the
// `pnpm services:up` Kafka, else one started for the run).
import { createKafkaLog } from '@tributary/eventing';
import { createCloudEvent, createLogger } from '@tributary/shared';
import { reuseSharedServices, servicesToStart, startServices, uniqueName } from '@tributary/testing';
import { loadAverages } from './lib/proc.js';

/** The Kafka log's default linger (DEFAULT_LINGER_MS in eventing/src/log/kafka/kafka-log.ts). */
const LINGER_MS = 5;
const APPENDS = Number(process.env.BENCH_APPENDS ?? 400);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const logger = createLogger({ name: 'append-linger-bench', level: 'warn' });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] as number;

async function main(): Promise<void> {
  reuseSharedServices(process.env);
  const wanted = servicesToStart().filter((s) => s === 'kafka');
  const services = wanted.length > 0 ? await startServices({ only: wanted }) : undefined;
  const brokers = (services?.env.KAFKA_BROKERS ?? (process.env.KAFKA_BROKERS as string)).split(',');
  const logs = {
    linger: createKafkaLog({ brokers, logger, lingerMs: LINGER_MS }),
    none: createKafkaLog({ brokers, logger, lingerMs: 0 }),
  };
  const broker = { namespace: 'bench', name: uniqueName('linger') };
  await logs.linger.ensureBroker(broker);
  await logs.none.ensureBroker(broker);
  const event = (i: number) =>
    createCloudEvent({
      type: 'dev.tributary.bench',
      source: '/bench/linger',
      id: `e${i}`,
      partitionkey: `k${i % 16}`,
      data: { i },
    });
  const sequential: Record<string, number[]> = { linger: [], none: [] };
  const concurrent: Record<string, number[]> = { linger: [], none: [] };
  try {
    // Warm both producers.
    for (const log of Object.values(logs)) for (let i = 0; i < 50; i++) await log.append(broker, [event(i)]);
    for (let r = 0; r < ROUNDS; r++) {
      for (const name of ['linger', 'none'] as const) {
        const log = logs[name];
        for (let i = 0; i < APPENDS; i++) {
          const t = performance.now();
          await log.append(broker, [event(i)]);
          sequential[name]?.push(performance.now() - t);
        }
        let next = 0;
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: 32 }, async () => {
            while (next < APPENDS * 4) await log.append(broker, [event(next++)]);
          }),
        );
        concurrent[name]?.push((APPENDS * 4) / ((performance.now() - t0) / 1000));
      }
    }
  } finally {
    await logs.linger.close();
    await logs.none.close();
    await services?.stop();
  }
  const seq = (n: 'linger' | 'none') => sequential[n] as number[];
  console.log(
    JSON.stringify({
      benchmark: 'append-linger',
      appends_per_round: APPENDS,
      rounds: ROUNDS,
      sequential_linger_p50_ms: Number(median(seq('linger')).toFixed(2)),
      sequential_linger_p99_ms: Number(pct(seq('linger'), 99).toFixed(2)),
      sequential_no_linger_p50_ms: Number(median(seq('none')).toFixed(2)),
      sequential_no_linger_p99_ms: Number(pct(seq('none'), 99).toFixed(2)),
      sequential_ratio_p50: Number((median(seq('linger')) / median(seq('none'))).toFixed(2)),
      concurrent32_linger_per_s: Math.round(median(concurrent.linger as number[])),
      concurrent32_no_linger_per_s: Math.round(median(concurrent.none as number[])),
      load: loadAverages(),
    }),
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
