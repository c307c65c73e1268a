import { describe, expect, it } from '@jest/globals';
import { createLogger } from '@tributary/shared';
import { CloudEvent } from 'cloudevents';
import { handle, schema, type UserInserted } from './index.js';

const log = createLogger({ name: 'test', level: 'silent' });
const event = new CloudEvent<UserInserted>({
  id: '0/1A2B3C8-0',
  source: '/db/tributary/public/users',
  type: 'dev.tributary.db.row.inserted',
  data: {
    type: 'INSERT',
    table: 'users',
    record: { id: 'b5b2c1de-1111-4d3a-9c1e-0a1b2c3d4e5f', email: 'ada@example.com' },
  },
});

describe('on-user-created', () => {
  it('replies with a welcome request derived from the insert', () => {
    const ctx = {
      log,
      headers: {},
      method: 'POST',
      query: {},
      body: event.data,
      cloudevent: event,
      functionName: 'on-user-created',
    };
    const reply = handle(ctx, event);
    expect(reply.type).toBe('dev.tributary.app.welcome.requested');
    expect(reply.id).toBe('welcome-0/1A2B3C8-0');
    expect(reply.subject).toBe('b5b2c1de-1111-4d3a-9c1e-0a1b2c3d4e5f');
    expect(reply.data).toEqual({
      userId: 'b5b2c1de-1111-4d3a-9c1e-0a1b2c3d4e5f',
      email: 'ada@example.com',
      causedBy: { source: '/db/tributary/public/users', id: '0/1A2B3C8-0' },
    });
  });

  it('declares a schema that rejects other tables', () => {
    expect(schema.safeParse({ type: 'INSERT', table: 'files', record: { id: 1 } }).success).toBe(false);
    expect(schema.safeParse(event.data).success).toBe(true);
  });
});
