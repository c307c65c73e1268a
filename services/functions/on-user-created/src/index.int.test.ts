import { describe, expect, it } from '@jest/globals';
import { createFunctionHost, loadFunction } from '@tributary/function-runtime';
import { createLogger } from '@tributary/shared';
import { CloudEvent, HTTP } from 'cloudevents';

describe('on-user-created over HTTP (Knative Functions style)', () => {
  it('answers a binary CloudEvent POST with a binary reply', async () => {
    const fn = await loadFunction(new URL('./index.ts', import.meta.url).pathname);
    const app = createFunctionHost({
      name: 'on-user-created',
      fn,
      logger: createLogger({ name: 't', level: 'silent' }),
    });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const msg = HTTP.binary(
        new CloudEvent({
          id: '0/16B3748-2',
          source: '/db/tributary/public/users',
          type: 'dev.tributary.db.row.inserted',
          data: { type: 'INSERT', table: 'users', record: { id: '42', email: 'grace@example.com' } },
        }),
      );
      const res = await fetch(url, {
        method: 'POST',
        headers: msg.headers as Record<string, string>,
        body: msg.body as string,
      });
      expect(res.status).toBe(200);
      const reply = HTTP.toEvent({
        headers: Object.fromEntries(res.headers),
        body: await res.text(),
      }) as CloudEvent;
      expect(reply.type).toBe('dev.tributary.app.welcome.requested');
      expect(reply.id).toBe('welcome-0/16B3748-2');
      expect(reply.data).toMatchObject({ userId: '42', email: 'grace@example.com' });

      const bad = HTTP.binary(
        new CloudEvent({
          id: 'x',
          source: '/db/tributary/public/files',
          type: 'dev.tributary.db.row.inserted',
          data: { type: 'INSERT', table: 'files', record: { id: 1 } },
        }),
      );
      const res2 = await fetch(url, {
        method: 'POST',
        headers: bad.headers as Record<string, string>,
        body: bad.body as string,
      });
      expect(res2.status).toBe(400);
    } finally {
      await app.close();
    }
  });
});
