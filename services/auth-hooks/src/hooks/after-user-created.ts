import { type AuthHookPayload, afterUserCreatedPayloadSchema, EVENT_TYPES } from '@tributary/shared';
import { defineHook } from './types.js';

/** After user created: `{ metadata, user }` -> `{}`; the event tells the rest of the platform. */
export type AfterUserCreatedPayload = AuthHookPayload<'after-user-created'>;

export const afterUserCreatedHook = defineHook({
  name: 'after-user-created',
  eventType: EVENT_TYPES.authUserCreated,
  schema: afterUserCreatedPayloadSchema,
  subject: (p) => p.user.id,
  delivery: false,
  async handle() {
    return { kind: 'ok', body: {} };
  },
});
