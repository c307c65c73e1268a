import { describe, expect, it } from '@jest/globals';
import { CloudEvent } from 'cloudevents';
import { trustedCloudEvent } from './trusted-event.js';

const attrs = (subject?: string): Record<string, unknown> => ({
  specversion: '1.0',
  id: '0/1A2B3C8-4',
  type: 'dev.tributary.db.row.inserted',
  source: '/db/postgres/public/users',
  time: '2026-12-05T10:00:00.123456Z',
  datacontenttype: 'application/json',
  schema: 'public',
  table: 'users',
  lsn: '0/1A2B3C8',
  txid: '771',
  partitionkey: subject === undefined ? 'public.users' : `public.users/${subject}`,
  data: { type: 'INSERT', record: { id: 1, name: 'ä' }, old_record: null },
  ...(subject === undefined ? {} : { subject }),
});

describe('trustedCloudEvent', () => {
  it('builds the same object as the SDK constructor (prototype, own keys in order, values, frozen)', () => {
    for (const a of [attrs('42'), attrs(undefined)]) {
      const ours = trustedCloudEvent(a);
      const sdk = new CloudEvent<unknown>(a, false);
      expect(Object.getPrototypeOf(ours)).toBe(CloudEvent.prototype);
      expect(ours).toBeInstanceOf(CloudEvent);
      expect(Object.keys(ours)).toEqual(Object.keys(sdk));
      for (const k of Object.keys(sdk))
        expect((ours as unknown as Record<string, unknown>)[k]).toBe(
          (sdk as unknown as Record<string, unknown>)[k],
        );
      expect(Object.isFrozen(ours)).toBe(true);
      expect(JSON.stringify(ours)).toBe(JSON.stringify(sdk));
      expect(ours.toString()).toBe(sdk.toString());
      expect(() => ours.validate()).not.toThrow();
      // The SDK's own copy-with-changes still works on it.
      expect(ours.cloneWith({ subject: 'x' }, false).subject).toBe('x');
    }
  });
});
