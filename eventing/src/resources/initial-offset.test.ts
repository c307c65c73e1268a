import { describe, expect, it } from '@jest/globals';
import { ResourceValidationError } from './errors.js';
import { parseResources, parseRfc3339 } from './load.js';

const trigger = (value: string) => `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default, namespace: shop }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: late
  namespace: shop
  annotations:
    tributary.dev/initial-offset: "${value}"
spec:
  broker: default
  subscriber: { uri: "http://127.0.0.1:9/" }`;

const parse = (value: string) => parseResources([{ file: 'late.yaml', text: trigger(value) }]);

describe('tributary.dev/initial-offset', () => {
  it('takes earliest, latest or an RFC 3339 time', () => {
    expect(parse('earliest').triggers[0]?.initialOffset).toBe('earliest');
    expect(parse('latest').triggers[0]?.initialOffset).toBe('latest');
    expect(parse('2026-01-31T09:00:00Z').triggers[0]?.initialOffset).toEqual(
      new Date('2026-01-31T09:00:00Z'),
    );
    expect(parse('2026-01-31T10:30:00.250+01:30').triggers[0]?.initialOffset).toEqual(
      new Date('2026-01-31T09:00:00.250Z'),
    );
  });

  it('refuses anything else, naming the annotation and the accepted forms', () => {
    for (const bad of [
      'yesterday',
      '2026-01-31',
      '2026-01-31T09:00:00',
      '2026-02-30T09:00:00Z',
      '1706691600',
    ]) {
      let error: unknown;
      try {
        parse(bad);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ResourceValidationError);
      const message = (error as Error).message;
      expect(message).toContain('tributary.dev/initial-offset');
      expect(message).toContain('an RFC 3339 time');
    }
  });

  it('parses RFC 3339 section 5.6 date-times only', () => {
    expect(parseRfc3339('2026-01-31t09:00:00z')).toEqual(new Date('2026-01-31T09:00:00Z'));
    expect(parseRfc3339('2026-01-31 09:00:00-05:00')).toEqual(new Date('2026-01-31T14:00:00Z'));
    expect(parseRfc3339('2026-13-01T00:00:00Z')).toBeUndefined();
    expect(parseRfc3339('2026-01-31T24:00:00Z')).toBeUndefined();
    expect(parseRfc3339('Sat, 31 Jan 2026 09:00:00 GMT')).toBeUndefined();
  });
});
