import { describe, expect, it } from '@jest/globals';
import { createLogger } from '@tributary/shared';
import { CloudEvent } from 'cloudevents';
import { handle, init, schema } from './index.js';

describe('file-indexer (unit)', () => {
  it('accepts storage object.created data and rejects data without a key', () => {
    expect(
      schema.safeParse({ bucket: 'uploads', key: 'a b.txt', size: 3, eTag: 'x', contentType: 'text/plain' })
        .success,
    ).toBe(true);
    const bad = schema.safeParse({ bucket: 'uploads' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['key']);
  });

  it('fails init naming the variable when config is invalid', () => {
    expect(() => init({})).toThrow(/DATABASE_URL/);
    expect(() => init({ DATABASE_URL: 'postgres://x/y', FILES_TABLE: 'files; drop table x' })).toThrow(
      /FILES_TABLE must be schema.table/,
    );
  });

  it('refuses to run before init', async () => {
    const log = createLogger({ name: 't', level: 'silent' });
    const e = new CloudEvent({
      id: '1',
      source: '/storage/b',
      type: 'dev.tributary.storage.object.created',
      data: { bucket: 'b', key: 'k' },
    });
    await expect(
      handle(
        {
          log,
          headers: {},
          method: 'POST',
          query: {},
          body: e.data,
          cloudevent: e,
          functionName: 'file-indexer',
        },
        e,
      ),
    ).rejects.toThrow(/not initialised/);
  });
});
