// Building a row change's CloudEvent and its Kafka record, per event, the way db-events does: the SDK
// constructor (`new CloudEvent(attrs, false)`) against `buildEvent`, which db-events' changeEvent uses (same
// object, no per-event copying), each followed by toKafkaMessage. Same process, 7 alternating rounds, medians; CPU time.
//   pnpm bench cloudevent-build
import { loadavg } from 'node:os';
import { buildEvent, toKafkaMessage } from '@tributary/shared';
import { CloudEvent } from 'cloudevents';

const N = 100_000;
const attrs = Array.from({ length: N }, (_, i) => ({
  specversion: '1.0',
  id: `0/1A2B3C8-${i}`,
  type: 'dev.tributary.db.row.inserted',
  source: '/db/postgres/bench/t',
  time: '2026-12-05T10:00:00.123456Z',
  datacontenttype: 'application/json',
  schema: 'bench',
  table: 't',
  lsn: '0/1A2B3C8',
  txid: String(700 + i),
  partitionkey: `bench.t/${i}`,
  subject: String(i),
  data: {
    type: 'INSERT',
    schema: 'bench',
    table: 't',
    record: { id: i, payload: 'c4ca4238a0b9238' },
    old_record: null,
    commit_timestamp: '2026-12-05T10:00:00.123456Z',
    lsn: '0/1A2B3C8',
    txid: 700 + i,
    unchanged_toast: [],
  },
}));

/** The same attributes without `data`, and the data, as changeEvent passes them to buildEvent. */
const split = attrs.map(({ data, ...rest }) => ({ rest: rest as Record<string, unknown>, data }));

function round(build: (i: number) => CloudEvent<unknown>): { build: number; total: number } {
  const t0 = process.cpuUsage();
  const events: CloudEvent<unknown>[] = new Array(N);
  for (let i = 0; i < N; i++) events[i] = build(i);
  const t1 = process.cpuUsage(t0);
  let bytes = 0;
  for (const e of events) bytes += toKafkaMessage(e).value?.length ?? 0;
  const t2 = process.cpuUsage(t0);
  if (bytes === 0) throw new Error('unreachable');
  return { build: ((t1.user + t1.system) * 1000) / N, total: ((t2.user + t2.system) * 1000) / N };
}

const sdk = (i: number) => new CloudEvent<unknown>(attrs[i] as Record<string, unknown>, false);
const ours = (i: number) => {
  const s = split[i] as (typeof split)[number];
  return buildEvent(s.rest, s.data);
};
const sdkRounds: { build: number; total: number }[] = [];
const ourRounds: { build: number; total: number }[] = [];
for (let r = 0; r < 7; r++) {
  sdkRounds.push(round(sdk));
  ourRounds.push(round(ours));
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[3] as number;
const s = { build: med(sdkRounds.map((x) => x.build)), total: med(sdkRounds.map((x) => x.total)) };
const o = { build: med(ourRounds.map((x) => x.build)), total: med(ourRounds.map((x) => x.total)) };
console.log(
  JSON.stringify({
    benchmark: 'cloudevent-build',
    events: N,
    sdk_build_ns: Math.round(s.build),
    trusted_build_ns: Math.round(o.build),
    build_speedup: Number((s.build / o.build).toFixed(1)),
    sdk_build_and_record_ns: Math.round(s.total),
    trusted_build_and_record_ns: Math.round(o.total),
    build_and_record_ratio: Number((o.total / s.total).toFixed(2)),
    load: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  }),
);
