// CRC-32C of Kafka record batches: kafkajs' original byte-at-a-time table loop (reproduced below from kafkajs
// 2.2.4, src/protocol/recordBatch/crc32C, MIT licence) against the slicing-by-8 version our pnpm patch
// (patches/kafkajs@2.2.4.patch) installs, in the same process: CPU ns per KiB, median of 7 alternating rounds,
// on batch-sized buffers at an unaligned offset (as kafkajs' Encoder hands them over).
//   pnpm bench crc32c
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';

const require = createRequire(import.meta.url);
const patched = require('kafkajs/src/protocol/recordBatch/crc32C') as (b: Buffer) => number;

// kafkajs' original: one 256-entry table, one byte per step (its table is this polynomial's table).
const T = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  T[n] = c;
}
const original = (buffer: Buffer): number => {
  let crc = 0 ^ -1;
  for (let i = 0; i < buffer.length; i++)
    crc = (T[(crc ^ (buffer[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return Uint32Array.from([(crc ^ -1) >>> 0])[0] as number;
};

const TOTAL = 64 * 1024 * 1024; // bytes checksummed per round
const sizes = [1_300, 64 * 1024, 1024 * 1024]; // one 1 KiB-row record, a small batch, a full batch
const results: Record<string, unknown> = {};
for (const size of sizes) {
  const pool = Buffer.alloc(size + 16);
  for (let i = 0; i < pool.length; i++) pool[i] = (i * 2_654_435_761) >>> 24;
  const buf = pool.subarray(3, 3 + size);
  if (patched(buf) !== original(buf)) throw new Error(`checksums differ at ${size} bytes`);
  const iterations = Math.ceil(TOTAL / size);
  const round = (f: (b: Buffer) => number) => {
    const t = process.cpuUsage();
    let x = 0;
    for (let i = 0; i < iterations; i++) x ^= f(buf);
    const u = process.cpuUsage(t);
    if (x === 0.5) throw new Error('unreachable');
    return ((u.user + u.system) * 1000) / ((iterations * size) / 1024);
  };
  round(original);
  round(patched);
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < 7; r++) {
    a.push(round(original));
    b.push(round(patched));
  }
  const median = (x: number[]) => [...x].sort((p, q) => p - q)[3] as number;
  results[`${size}B`] = {
    original_ns_per_kib: Math.round(median(a)),
    slicing_by_8_ns_per_kib: Math.round(median(b)),
    speedup: Number((median(a) / median(b)).toFixed(1)),
  };
}
console.log(
  JSON.stringify({
    benchmark: 'crc32c',
    ...results,
    load: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  }),
);
