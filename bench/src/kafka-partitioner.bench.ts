// Key -> partition on the Kafka produce path: kafkajs' DefaultPartitioner (murmur2 on a 64-bit Long
// emulation, the partition list filtered per record) against @tributary/shared's javaCompatiblePartitioner
// (same partitions, 32-bit Math.imul), in the same process: CPU per record, median of 7 alternating rounds.
//   pnpm bench kafka-partitioner
import { loadavg } from 'node:os';
import { javaCompatiblePartitioner } from '@tributary/shared';
import kafkajs from 'kafkajs';

const partitionMetadata = Array.from({ length: 3 }, (_, i) => ({
  partitionId: i,
  leader: 1,
  partitionErrorCode: 0,
  replicas: [1],
  isr: [1],
}));
// Keys shaped like db-events' partition keys: `<schema>.<table>/<primary key>`.
const keys = Array.from({ length: 200_000 }, (_, i) => Buffer.from(`bench_dbe_abcdefgh12345678.t/${i}`));
type Partitioner = (args: {
  topic: string;
  partitionMetadata: typeof partitionMetadata;
  message: { key: Buffer };
}) => number;

function round(p: Partitioner): number {
  const t = process.cpuUsage();
  let sum = 0;
  for (const key of keys) sum += p({ topic: 't', partitionMetadata, message: { key } });
  const u = process.cpuUsage(t);
  if (sum < 0) throw new Error('unreachable');
  return ((u.user + u.system) * 1000) / keys.length;
}

const theirs = kafkajs.Partitioners.DefaultPartitioner() as unknown as Partitioner;
const ours = javaCompatiblePartitioner() as unknown as Partitioner;
for (const key of keys.slice(0, 1000)) {
  const args = { topic: 't', partitionMetadata, message: { key } };
  if (theirs(args) !== ours(args)) throw new Error(`partitions differ for ${key}`);
}
const a: number[] = [];
const b: number[] = [];
for (let r = 0; r < 7; r++) {
  a.push(round(theirs));
  b.push(round(ours));
}
const median = (x: number[]) => [...x].sort((p, q) => p - q)[3] as number;
console.log(
  JSON.stringify({
    benchmark: 'kafka-partitioner',
    records: keys.length,
    kafkajs_default_ns_per_record: Math.round(median(a)),
    java_compatible_ns_per_record: Math.round(median(b)),
    speedup: Number((median(a) / median(b)).toFixed(1)),
    load: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  }),
);
