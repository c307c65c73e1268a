import type { Context } from '@tributary/function-runtime';
import { CloudEvent } from 'cloudevents';
import { z } from 'zod';

/** The part of a `dev.tributary.db.row.inserted` event for public.users this function needs. */
export const schema = z.object({
  type: z.literal('INSERT'),
  table: z.literal('users'),
  record: z.looseObject({ id: z.union([z.string(), z.number()]), email: z.string().nullable().optional() }),
});

export type UserInserted = z.infer<typeof schema>;

/**
 * A user row was inserted: ask for a welcome message. The reply goes back to the broker, where another
 * Trigger (or the mailer) picks up `dev.tributary.app.welcome.requested`. Its id derives from the
 * incoming id, so a redelivered insert yields the same reply id and consumers can deduplicate.
 */
export function handle(context: Context, event: CloudEvent<UserInserted>): CloudEvent<unknown> {
  const user = event.data!.record;
  context.log.info({ userId: user.id }, 'user created; requesting welcome message');
  return new CloudEvent({
    type: 'dev.tributary.app.welcome.requested',
    source: '/functions/on-user-created',
    id: `welcome-${event.id}`,
    subject: String(user.id),
    partitionkey: `users/${user.id}`,
    datacontenttype: 'application/json',
    data: {
      userId: String(user.id),
      email: user.email ?? null,
      causedBy: { source: event.source, id: event.id },
    },
  });
}
