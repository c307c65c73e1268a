import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from '@jest/globals';
import kafkajs from 'kafkajs';
import { javaCompatiblePartitioner, murmur2 } from './kafka-partitioner.js';

// kafkajs' own murmur2 (the one behind Partitioners.DefaultPartitioner), to compare bit for bit.
const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (
  key: Buffer,
) => number;

describe('Java-compatible partitioner', () => {
  it('murmur2 equals kafkajs (and so the Java client) for every length and byte value', () => {
    const keys: Buffer[] = [Buffer.alloc(0), Buffer.from('public.users/42'), Buffer.from('bucket/ä ö/ü.txt')];
    for (let len = 1; len <= 64; len++) for (let n = 0; n < 20; n++) keys.push(randomBytes(len));
    keys.push(Buffer.alloc(7, 0xff), Buffer.alloc(8, 0x80));
    for (const key of keys) expect(murmur2(key)).toBe(kafkajsMurmur2(key));
  });

  it('matches known values of the Java client', () => {
    // From Kafka's UtilsTest.testMurmur2 (org.apache.kafka.common.utils).
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
  });

  it('chooses the same partition as kafkajs DefaultPartitioner', () => {
    const ours = javaCompatiblePartitioner();
    const theirs = kafkajs.Partitioners.DefaultPartitioner();
    for (const partitions of [1, 3, 7, 50]) {
      const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({
        partitionId: i,
        leader: 1,
        partitionErrorCode: 0,
        replicas: [1],
        isr: [1],
      }));
      for (let i = 0; i < 500; i++) {
        const key = i % 2 === 0 ? Buffer.from(`public.t/${i}`) : `s/${i}`;
        const args = { topic: 't', partitionMetadata, message: { key, value: null } };
        expect(ours(args)).toBe(theirs(args));
      }
      // An explicit partition wins; keyless records stay within the partitions that have a leader.
      expect(ours({ topic: 't', partitionMetadata, message: { key: 'k', partition: 0 } })).toBe(0);
      const led = partitionMetadata.map((p, i) => ({ ...p, leader: i === 0 ? 1 : -1 }));
      for (let i = 0; i < 10; i++)
        expect(ours({ topic: 'u', partitionMetadata: led, message: { key: null } })).toBe(0);
    }
  });
});
