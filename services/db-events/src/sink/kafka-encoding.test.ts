import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  buildEvent,
  createCloudEvent,
  javaCompatiblePartitioner,
  KafkaRecordWriter,
  toKafkaMessage,
} from '@tributary/shared';
import { type KafkajsBeforePatch, kafkajsBeforePatch } from '@tributary/testing';
import type { CloudEvent } from 'cloudevents';

const require = createRequire(import.meta.url);

interface Encoded {
  buffer: Buffer;
}
interface Kafkajs {
  ProduceV3: (r: Record<string, unknown>) => { encode(): Promise<Encoded> };
  groupMessagesPerPartition: (r: Record<string, unknown>) => Record<string, unknown[]>;
  /** A request framed for the wire: size, header, payload. */
  Request: (r: Record<string, unknown>) => Promise<Encoded>;
  Long: { fromInt(n: number): unknown };
}

function load(src: string): Kafkajs {
  const r = createRequire(join(src, 'index.js'));
  return {
    ProduceV3: r('./protocol/requests/produce/v3/request'),
    groupMessagesPerPartition: r('./producer/groupMessagesPerPartition'),
    Request: r('./protocol/request'),
    Long: r('./utils/long'),
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

const TEXTS = [
  '',
  '42',
  'a b',
  'héllo wörld €',
  'ö/日本/😀',
  'x'.repeat(63),
  'y'.repeat(64),
  'z'.repeat(300),
];

/** Row changes as db-events builds them, plus the odd shapes a CloudEvent can take. */
function makeEvents(random: () => number, count: number): CloudEvent<unknown>[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const out: CloudEvent<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const subject = `${pick(TEXTS)}${i}`;
    const attrs: Record<string, unknown> = {
      specversion: '1.0',
      id: `0/1A2B3C8-${i}`,
      type: pick(['dev.tributary.db.row.inserted', 'dev.tributary.db.row.updated']),
      source: '/db/postgres/public/orders',
      time: '2024-05-01T10:20:30.123456Z',
      datacontenttype: 'application/json',
      subject,
      schema: 'public',
      table: 'orders',
      lsn: '0/1A2B3C8',
      txid: String(700 + i),
    };
    if (random() < 0.8) attrs.partitionkey = `public.orders/${subject}`;
    const data = {
      type: 'INSERT',
      record: { id: i, note: pick(TEXTS).repeat(1 + Math.floor(random() * 8)) },
    };
    const r = random();
    if (r < 0.5) out.push(buildEvent(attrs, data));
    else if (r < 0.7) out.push(buildEvent(attrs, data, Buffer.from(JSON.stringify(data))));
    else if (r < 0.8)
      out.push(
        createCloudEvent({
          type: 't',
          source: '/s',
          id: `b-${i}`,
          datacontenttype: 'application/octet-stream',
          data: Buffer.alloc(Math.floor(random() * 2000), i),
          partitionkey: random() < 0.5 ? `k${i}` : undefined,
        }),
      );
    else if (r < 0.9)
      out.push(createCloudEvent({ type: 't', source: '/s', id: `n-${i}`, count: i, flag: true }));
    else
      out.push(
        createCloudEvent({
          type: 't',
          source: '/s',
          id: `s-${i}`,
          datacontenttype: 'text/plain',
          data: pick(TEXTS),
        }),
      );
  }
  return out;
}

describe('pre-encoded Kafka records (KafkaRecordWriter + the kafkajs patch)', () => {
  let kafkajs: KafkajsBeforePatch | undefined;
  let original: Kafkajs;
  let patched: Kafkajs;

  beforeAll(() => {
    kafkajs = kafkajsBeforePatch(join(dirname(require.resolve('kafkajs/package.json')), 'src'), (read) =>
      read('protocol/requests/produce/v3/request.js').includes('encodePreEncoded'),
    );
    original = load(kafkajs.originalSrc);
    patched = load(kafkajs.patchedSrc);
  });

  afterAll(() => kafkajs?.remove());

  it('rebuilt the original sources', () => {
    const produce = readFileSync(
      join((kafkajs as KafkajsBeforePatch).originalSrc, 'protocol/requests/produce/v3/request.js'),
      'utf8',
    );
    expect(produce).not.toContain('encodePreEncoded');
    expect(produce).toContain('...message,');
  });

  it('encodes produce requests byte for byte as toKafkaMessage + the original kafkajs', async () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_700_000_123_456);
    try {
      for (const seed of [1, 2, 3, 4, 5, 6]) {
        const random = rng(seed);
        const writer = new KafkaRecordWriter(seed % 2 === 0 ? 1 << 20 : 512); // small slabs: records move
        const partitions = Array.from({ length: 1 + Math.floor(random() * 6) }, (_, p) => ({
          partition: p,
          events: makeEvents(random, 1 + Math.floor(random() * 120)),
          firstSequence: Math.floor(random() * 1e6),
        }));
        // preEncoded 'mixed': every other partition pre-encoded (each such partition gets its own buffer).
        const request = (k: Kafkajs, preEncoded: boolean | 'mixed') =>
          k.ProduceV3({
            acks: -1,
            timeout: 30_000,
            producerId: k.Long.fromInt(4242),
            producerEpoch: 3,
            transactionalId: seed === 3 ? 'tx' : undefined,
            topicData: [
              {
                topic: 'knative-broker-ns-default',
                partitions: partitions.map(({ partition, events, firstSequence }) => ({
                  partition,
                  firstSequence,
                  messages: events.map((e) => {
                    if (!preEncoded || (preEncoded === 'mixed' && partition % 2 === 1))
                      return toKafkaMessage(e);
                    const { key, encoded } = writer.write(e);
                    return { key, value: null, encoded };
                  }),
                })),
              },
            ],
          });
        const expected = (await request(original, false).encode()).buffer;
        const actual = (await request(patched, true).encode()).buffer;
        expect(actual.length).toBe(expected.length);
        expect(actual.equals(expected)).toBe(true);
        // The regular path of the patched kafkajs still writes the same bytes too.
        expect((await request(patched, false).encode()).buffer.equals(expected)).toBe(true);
        expect((await request(patched, 'mixed').encode()).buffer.equals(expected)).toBe(true);
        // And so does the framing (size prefix and request header) around it, in the room the pre-encoded
        // request leaves for it or (a client id longer than that room) copied behind it.
        for (const clientId of ['tributary-db-events', 'ünïcode-client', null, 'c'.repeat(300)]) {
          const frame = (k: Kafkajs, preEncoded: boolean) =>
            k.Request({ correlationId: 4711 + seed, clientId, request: request(k, preEncoded) });
          const framed = (await frame(original, false)).buffer;
          expect(framed.readInt32BE(0)).toBe(framed.length - 4);
          expect((await frame(patched, true)).buffer.equals(framed)).toBe(true);
        }
      }
    } finally {
      now.mockRestore();
    }
  });

  it('refuses a partition that mixes pre-encoded records with other messages', async () => {
    const { key, encoded } = new KafkaRecordWriter().write(createCloudEvent({ type: 't', source: '/s' }));
    const request = patched.ProduceV3({
      acks: -1,
      timeout: 1000,
      topicData: [
        {
          topic: 't',
          partitions: [
            { partition: 0, firstSequence: 0, messages: [{ key, value: null, encoded }, { value: 'x' }] },
          ],
        },
      ],
    });
    await expect(request.encode()).rejects.toThrow(/mixes pre-encoded records/);
  });

  it('groups messages per partition as the original, in order', () => {
    const random = rng(9);
    const messages = Array.from({ length: 500 }, (_, i) => ({
      key: random() < 0.9 ? Buffer.from(`public.orders/${Math.floor(random() * 50)}`) : null,
      value: String(i),
    }));
    const partitionMetadata = Array.from({ length: 7 }, (_, p) => ({ partitionId: p, leader: 1 }));
    const group = (k: Kafkajs) => {
      // Same round-robin start for keyless messages on both sides.
      const partitioner = javaCompatiblePartitioner();
      let n = 0;
      return k.groupMessagesPerPartition({
        topic: 't',
        partitionMetadata,
        messages,
        partitioner: (args: { message: { key: Buffer | null } }) =>
          args.message.key === null ? n++ % 7 : partitioner(args as never),
      });
    };
    const a = group(patched);
    const b = group(original);
    expect(Object.keys(a)).toEqual(Object.keys(b));
    for (const p of Object.keys(b)) expect(a[p]).toEqual(b[p]);
    expect(Object.values(a).flat()).toHaveLength(500);
  });
});
