import { describe, expect, it } from '@jest/globals';
import { kafkaToHttpBinary } from '@tributary/shared';
import { flattenHeaders } from './kafka-log.js';

// Regression (issue 17, difference 4): the forwarding path took the first of repeated headers while
// `fromKafkaMessage` took the last; Knative (Kafka's `Headers.lastHeader`) takes the last.
describe('flattenHeaders', () => {
  it('keeps the last value of a repeated header, as kafkajs hands repeated headers over as arrays', () => {
    const headers = flattenHeaders({
      ce_specversion: Buffer.from('1.0'),
      ce_id: Buffer.from('dup'),
      ce_source: '/s',
      ce_type: [Buffer.from('first'), Buffer.from('last')],
    });
    expect(headers.ce_type?.toString()).toBe('last');
    expect(headers.ce_source?.toString()).toBe('/s');
    const view = kafkaToHttpBinary({ key: null, value: null, headers });
    expect(view.attributes.type).toBe('last');
    expect(view.message.headers['ce-type']).toBe('last');
  });
});
