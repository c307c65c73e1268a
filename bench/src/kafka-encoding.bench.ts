// From a row change's CloudEvent to the bytes of a framed Kafka produce request, per event, the way db-events'
// Kafka sink does it (batches of 1,000 events, one partition; no network):
//   - shipped:     toKafkaMessage + kafkajs 2.2.4 as published (the patch reverse-applied to a copy);
//   - patched:     toKafkaMessage + kafkajs with patches/kafkajs@2.2.4.patch (its regular message path);
//   - pre-encoded: KafkaRecordWriter + the patch's pre-encoded records (what the sink does now).
// Same process, same events, 7 alternating rounds each after a full GC, medians of CPU time (process.cpuUsage,
// GC during the round included) per event; the three produce the same bytes (checked before timing).
//   pnpm bench kafka-encoding          (BENCH_EVENTS, default 50000)
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { buildEvent, KafkaRecordWriter, toKafkaMessage } from '@tributary/shared';
import type { CloudEvent } from 'cloudevents';

const N = Number(process.env.BENCH_EVENTS ?? 50_000);
const BATCH = 1_000;
const require = createRequire(import.meta.url);
const PATCH = fileURLToPath(new URL('../../patches/kafkajs@2.2.4.patch', import.meta.url));

interface Encoded {
  buffer: Buffer;
}
interface Kafkajs {
  ProduceV3: (r: Record<string, unknown>) => { encode(): Promise<Encoded> };
  Request: (r: Record<string, unknown>) => Promise<Encoded>;
  Long: { fromInt(n: number): unknown };
}
const load = (src: string): Kafkajs => {
  const r = createRequire(join(src, 'index.js'));
  return {
    ProduceV3: r('./protocol/requests/produce/v3/request'),
    Request: r('./protocol/request'),
    Long: r('./utils/long'),
  };
};

const patchedSrc = join(dirname(require.resolve('kafkajs/package.json')), 'src');
const dir = mkdtempSync(join(tmpdir(), 'kafkajs-shipped-'));
cpSync(patchedSrc, join(dir, 'src'), { recursive: true });
writeFileSync(join(dir, 'package.json'), '{}');
const undo = spawnSync('git', ['apply', '-R', '--whitespace=nowarn', PATCH], { cwd: dir, encoding: 'utf8' });
if (undo.status !== 0) throw new Error(`git apply -R failed: ${undo.stderr}`);
const shipped = load(join(dir, 'src'));
const patched = load(patchedSrc);

function events(payload: string): CloudEvent<unknown>[] {
  return Array.from({ length: N }, (_, i) =>
    buildEvent(
      {
        specversion: '1.0',
        id: `0/1A2B3C8-${i}`,
        type: 'dev.tributary.db.row.inserted',
        source: '/db/postgres/bench/t',
        time: '2026-12-05T10:00:00.123456Z',
        datacontenttype: 'application/json',
        subject: String(i),
        schema: 'bench',
        table: 't',
        lsn: '0/1A2B3C8',
        txid: String(700 + i),
        partitionkey: `bench.t/${i}`,
      },
      {
        type: 'INSERT',
        schema: 'bench',
        table: 't',
        record: { id: i, payload },
        old_record: null,
        commit_timestamp: '2026-12-05T10:00:00.123456Z',
        lsn: '0/1A2B3C8',
        txid: 700 + i,
        unchanged_toast: [],
      },
    ),
  );
}

const writer = new KafkaRecordWriter();
type Variant = 'shipped' | 'patched' | 'pre-encoded';

function frame(k: Kafkajs, messages: unknown[], batch: number): Promise<Encoded> {
  return k.Request({
    correlationId: batch,
    clientId: 'tributary-db-events',
    request: k.ProduceV3({
      acks: -1,
      timeout: 30_000,
      producerId: k.Long.fromInt(4242),
      producerEpoch: 0,
      topicData: [
        {
          topic: 'knative-broker-bench-default',
          partitions: [{ partition: 0, firstSequence: batch * BATCH, messages }],
        },
      ],
    }),
  });
}

async function encodeBatch(variant: Variant, batch: CloudEvent<unknown>[], b: number): Promise<Buffer> {
  if (variant === 'pre-encoded') {
    writer.reset();
    const messages = batch.map((e) => {
      const { key, encoded } = writer.write(e);
      return { key, value: null, encoded };
    });
    return (await frame(patched, messages, b)).buffer;
  }
  const messages = batch.map((e) => {
    const r = toKafkaMessage(e);
    return { key: r.key, value: r.value, headers: r.headers };
  });
  return (await frame(variant === 'shipped' ? shipped : patched, messages, b)).buffer;
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function round(variant: Variant, all: CloudEvent<unknown>[]): Promise<number> {
  gc(); // each round starts from a clean heap instead of collecting the previous variant's garbage
  const t0 = process.cpuUsage();
  let bytes = 0;
  for (let b = 0; b * BATCH < all.length; b++) {
    bytes += (await encodeBatch(variant, all.slice(b * BATCH, (b + 1) * BATCH), b)).length;
  }
  const t = process.cpuUsage(t0);
  if (bytes === 0) throw new Error('nothing encoded');
  return ((t.user + t.system) * 1000) / all.length;
}

const realNow = Date.now;
Date.now = () => 1_700_000_000_000; // the batches' timestamps, so the variants' bytes can be compared
try {
  for (const [workload, payload] of [
    ['single-row', 'c4ca4238a0b9238'],
    ['1 KiB rows', 'x'.repeat(1024)],
  ] as const) {
    const all = events(payload);
    const first = all.slice(0, BATCH);
    const reference = await encodeBatch('shipped', first, 0);
    for (const v of ['patched', 'pre-encoded'] as const) {
      if (!(await encodeBatch(v, first, 0)).equals(reference)) throw new Error(`${v} wrote other bytes`);
    }
    const rounds: Record<Variant, number[]> = { shipped: [], patched: [], 'pre-encoded': [] };
    for (let r = 0; r < 7; r++) {
      for (const v of ['shipped', 'patched', 'pre-encoded'] as const) rounds[v].push(await round(v, all));
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[3] as number;
    const ns = {
      shipped: med(rounds.shipped),
      patched: med(rounds.patched),
      pre: med(rounds['pre-encoded']),
    };
    console.log(
      JSON.stringify({
        benchmark: 'kafka-encoding',
        workload,
        events: N,
        request_bytes_per_event: Math.round(reference.length / BATCH),
        shipped_ns: Math.round(ns.shipped),
        patched_ns: Math.round(ns.patched),
        pre_encoded_ns: Math.round(ns.pre),
        pre_encoded_vs_patched: Number((ns.pre / ns.patched).toFixed(2)),
        pre_encoded_vs_shipped: Number((ns.pre / ns.shipped).toFixed(2)),
        load: loadavg()
          .map((l) => l.toFixed(2))
          .join(' '),
      }),
    );
  }
} finally {
  Date.now = realNow;
  rmSync(dir, { recursive: true, force: true });
}
