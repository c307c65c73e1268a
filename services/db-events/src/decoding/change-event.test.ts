import { describe, expect, it } from '@jest/globals';
import { type DbRowInsertedData, EVENT_TYPES } from '@tributary/shared';
import { CloudEvent } from 'cloudevents';
import { changeEvent } from './changes.js';

const rel = { source: '/db/postgres/public/users', qualified: 'public.users' };
const data: DbRowInsertedData = {
  type: 'INSERT',
  schema: 'public',
  table: 'users',
  commit_timestamp: '2026-12-05T10:00:00.123456Z',
  lsn: '0/1A2B3C8',
  txid: 771,
  record: { id: 1, name: 'ä' },
  old_record: null,
  unchanged_toast: [],
};

/** The attributes changeEvent is documented to give, for the SDK constructor. */
const attrs = (subject?: string): Record<string, unknown> => ({
  specversion: '1.0',
  id: '0/1A2B3C8-4',
  type: EVENT_TYPES.dbRowInserted,
  source: rel.source,
  time: data.commit_timestamp,
  datacontenttype: 'application/json',
  schema: 'public',
  table: 'users',
  lsn: '0/1A2B3C8',
  txid: '771',
  partitionkey: subject === undefined ? 'public.users' : `public.users/${subject}`,
  data,
  ...(subject === undefined ? {} : { subject }),
});

describe('changeEvent', () => {
  it('builds the same object as the SDK constructor (prototype, own keys in order, values, frozen)', () => {
    for (const subject of ['42', undefined]) {
      const ours = changeEvent(rel, EVENT_TYPES.dbRowInserted, '0/1A2B3C8-4', data, subject).event;
      const sdk = new CloudEvent<unknown>(attrs(subject), false);
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
