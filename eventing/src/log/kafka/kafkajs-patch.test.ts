import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { type KafkajsBeforePatch, kafkajsBeforePatch } from '@tributary/testing';

const require = createRequire(import.meta.url);

interface EncoderLike {
  buffer: Buffer;
  writeVarInt(v: unknown): EncoderLike;
  writeVarLong(v: unknown): EncoderLike;
}
interface Kafkajs {
  Encoder: { new (): EncoderLike; sizeOfVarLong(v: unknown): number; sizeOfVarInt(v: unknown): number };
  Record: (r: Record<string, unknown>) => EncoderLike;
  ProduceV3: (r: Record<string, unknown>) => { encode(): Promise<EncoderLike> };
  Long: { fromInt(n: number): unknown };
  crc32C: (b: Buffer) => number;
}

function load(src: string): Kafkajs {
  const r = createRequire(join(src, 'index.js'));
  return {
    Encoder: r('./protocol/encoder'),
    Record: r('./protocol/recordBatch/record/v0'),
    ProduceV3: r('./protocol/requests/produce/v3/request'),
    Long: r('./utils/long'),
    crc32C: r('./protocol/recordBatch/crc32C'),
  };
}

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Lengths around the varint boundaries (63/64, 8191/8192) and a large value.
const SIZES = [0, 1, 7, 63, 64, 65, 127, 128, 300, 8191, 8192, 8193, 70_000];
const TEXTS = [
  '',
  'a',
  'dev.tributary.db.insert',
  'héllo wörld ✓',
  '日本語のテキスト',
  '🎉 emoji',
  '\u0000nul',
];

function makeMessages(random: () => number, count: number): Record<string, unknown>[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const bytes = () => Buffer.alloc(pick(SIZES), Math.floor(random() * 256));
  const text = () => (random() < 0.5 ? pick(TEXTS) : pick(TEXTS).repeat(1 + Math.floor(random() * 40)));
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const headers: Record<string, unknown> = {};
    const n = Math.floor(random() * 16);
    for (let h = 0; h < n; h++) {
      const name = random() < 0.8 ? `ce_attr${h}` : `ç_${pick(TEXTS)}${h}`;
      const r = random();
      headers[name] =
        r < 0.5
          ? Buffer.from(text(), 'utf8')
          : r < 0.8
            ? text()
            : r < 0.9
              ? bytes()
              : random() < 0.5
                ? [Buffer.from(text()), text(), Buffer.alloc(0), '']
                : [];
    }
    const m: Record<string, unknown> = {
      key: pick([null, undefined, Buffer.from(`k${i}`), `key-${text()}`, bytes()]),
      value: pick([null, bytes(), Buffer.from(JSON.stringify({ i, t: text() })), text()]),
      headers,
    };
    const ts = random();
    if (ts < 0.3) m.timestamp = String(1_700_000_000_000 + Math.floor(random() * 1_000_000));
    else if (ts < 0.4)
      m.timestamp = 1_700_000_000_000 + Math.floor(random() * 5_000_000_000); // delta > 2^30
    else if (ts < 0.45) m.timestamp = 1_000 + i; // far in the past: deltas of -2^40 and more
    out.push(m);
  }
  return out;
}

describe('kafkajs record encoding patch', () => {
  let kafkajs: KafkajsBeforePatch | undefined;
  let original: Kafkajs;
  let patched: Kafkajs;

  beforeAll(() => {
    kafkajs = kafkajsBeforePatch(
      join(dirname(require.resolve('kafkajs/package.json')), 'src'),
      (read) =>
        read('protocol/recordBatch/record/v0/index.js').includes('encodeDirect') &&
        !read('protocol/requests/produce/v3/request.js').includes('...message,'),
    );
    original = load(kafkajs.originalSrc);
    patched = load(kafkajs.patchedSrc);
  });

  afterAll(() => kafkajs?.remove());

  it('rebuilt the original sources (the reverse patch really changed them)', () => {
    const orig = readFileSync(
      join((kafkajs as KafkajsBeforePatch).originalSrc, 'protocol/recordBatch/record/v0/index.js'),
      'utf8',
    );
    expect(orig).toContain("require('../../header/v0')");
    expect(orig).not.toContain('encodeDirect');
    const produce = readFileSync(
      join((kafkajs as KafkajsBeforePatch).originalSrc, 'protocol/requests/produce/v3/request.js'),
      'utf8',
    );
    expect(produce).toContain('...message,');
  });

  it('writes the same varints and varlongs', () => {
    const values = [
      0,
      1,
      -1,
      63,
      -64,
      64,
      -65,
      8191,
      8192,
      -8193,
      2 ** 20,
      2 ** 30 - 1,
      -(2 ** 30),
      2 ** 30,
      -(2 ** 30) - 1,
      2 ** 31 - 1,
      -(2 ** 31),
      2 ** 31,
      2 ** 32,
      2 ** 40,
      -(2 ** 40),
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
    ];
    for (const v of values) {
      expect(new patched.Encoder().writeVarInt(v).buffer).toEqual(
        new original.Encoder().writeVarInt(v).buffer,
      );
      expect(new patched.Encoder().writeVarLong(v).buffer).toEqual(
        new original.Encoder().writeVarLong(v).buffer,
      );
      expect(patched.Encoder.sizeOfVarLong(v)).toBe(original.Encoder.sizeOfVarLong(v));
      expect(new patched.Encoder().writeVarLong(v).buffer.length).toBe(patched.Encoder.sizeOfVarLong(v));
    }
    for (const v of ['123', '-4096', String(2 ** 40)]) {
      expect(new patched.Encoder().writeVarLong(v).buffer).toEqual(
        new original.Encoder().writeVarLong(v).buffer,
      );
    }
  });

  it('encodes single records byte for byte as the original', () => {
    const random = rng(7);
    const messages = makeMessages(random, 400);
    messages.forEach((m, i) => {
      const input = { ...m, offsetDelta: i * 37, timestampDelta: Math.floor((random() - 0.5) * 2 ** 34) };
      const a = patched.Record(input).buffer;
      const b = original.Record(input).buffer;
      if (!a.equals(b)) throw new Error(`record ${i} differs:\n${a.toString('hex')}\n${b.toString('hex')}`);
      expect(a.length).toBe(b.length);
    });
  });

  it('rejects the same invalid header values as the original', () => {
    for (const value of [null, undefined, 42]) {
      const input = { key: null, value: null, headers: { bad: value } };
      expect(() => original.Record(input)).toThrow();
      expect(() => patched.Record(input)).toThrow();
    }
  });

  it('encodes produce requests byte for byte as the original', async () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_700_000_123_456);
    try {
      for (const seed of [1, 2, 3, 4, 5]) {
        const random = rng(seed);
        const partitions = Array.from({ length: 1 + Math.floor(random() * 10) }, (_, p) => ({
          partition: p,
          firstSequence: Math.floor(random() * 1e6),
          messages: makeMessages(random, 1 + Math.floor(random() * 80)),
        }));
        const request = (k: Kafkajs) =>
          k.ProduceV3({
            acks: -1,
            timeout: 30_000,
            producerId: k.Long.fromInt(4242),
            producerEpoch: 3,
            topicData: [{ topic: 'knative-broker-bench-patch', partitions }],
          });
        const a = (await request(patched).encode()).buffer;
        const b = (await request(original).encode()).buffer;
        expect(a.length).toBeGreaterThan(0);
        expect(a.equals(b)).toBe(true);
      }
    } finally {
      now.mockRestore();
    }
  });

  // The patch replaces kafkajs' byte-at-a-time CRC-32C (the record batch checksum) with slicing-by-8.
  it('computes CRC-32C as the original and as the published check values', () => {
    const orig = readFileSync(
      join((kafkajs as KafkajsBeforePatch).originalSrc, 'protocol/recordBatch/crc32C/crc32C.js'),
      'utf8',
    );
    expect(orig).toContain('node-fast-crc32c');
    // RFC 3720 (iSCSI) appendix B.4 and the CRC catalogue's check value for "123456789".
    const ascending = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    const vectors: [Buffer, number][] = [
      [Buffer.alloc(0), 0],
      [Buffer.from('123456789'), 0xe3069283],
      [Buffer.alloc(32, 0), 0x8a9136aa],
      [Buffer.alloc(32, 0xff), 0x62a8ab43],
      [ascending, 0x46dd794e],
      [Buffer.from(ascending).reverse(), 0x113fdb5c],
    ];
    for (const [input, expected] of vectors) {
      expect(patched.crc32C(input)).toBe(expected);
      expect(original.crc32C(input)).toBe(expected);
    }
    const random = rng(20);
    const pool = Buffer.alloc(70_000);
    for (let i = 0; i < pool.length; i++) pool[i] = Math.floor(random() * 256);
    // Every length up to 64 (all tails after the 8-byte steps), then larger ones, at unaligned offsets.
    const lengths = [...Array.from({ length: 65 }, (_, i) => i), 1000, 1023, 1024, 1031, 8191, 65_537];
    for (const length of lengths) {
      const offset = Math.floor(random() * (pool.length - length));
      const input = pool.subarray(offset, offset + length);
      const expected = original.crc32C(input);
      expect(patched.crc32C(input)).toBe(expected);
      expect(expected).toBeGreaterThanOrEqual(0);
    }
  });

  // Regression: kafkajs scheduled its throttle check with `throttledUntil - Date.now()`, a huge negative delay
  // when not throttled (throttledUntil = -1). Node.js runs it after 1 ms either way, but Node.js 24 prints a
  // TimeoutNegativeWarning on every such call, into every service's output.
  it('never asks for a negative timer delay in the request queue', () => {
    const RequestQueue = require(
      join(dirname(require.resolve('kafkajs/package.json')), 'src/network/requestQueue'),
    ) as new (
      options: Record<string, unknown>,
    ) => { scheduleCheckPendingRequests(): void; pending: unknown[] };
    const delays: number[] = [];
    const timers = jest.spyOn(globalThis, 'setTimeout').mockImplementation(((_: () => void, ms?: number) => {
      delays.push(ms ?? 0);
      return 0;
    }) as unknown as typeof setTimeout);
    try {
      const logger = { debug() {}, info() {}, warn() {}, error() {} };
      for (const pending of [[], [{}]]) {
        const queue = new RequestQueue({
          maxInFlightRequests: 1,
          requestTimeout: 1000,
          clientId: 't',
          broker: 'b',
          logger,
        });
        queue.pending = pending;
        queue.scheduleCheckPendingRequests();
      }
    } finally {
      timers.mockRestore();
    }
    expect(delays).toHaveLength(2);
    for (const d of delays) expect(d).toBeGreaterThan(0);
  });
});
