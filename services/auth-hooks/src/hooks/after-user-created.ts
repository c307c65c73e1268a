import { z } from 'zod';
import { userSchema, withMetadata } from './common.js';
import type { HookDefinition } from './types.js';

/** After user created: `{ metadata, user }` -> `{}`; the event tells the rest of the platform. */
export const afterUserCreatedSchema = z.looseObject({
  ...withMetadata,
  user: userSchema,
});

export type AfterUserCreatedPayload = z.output<typeof afterUserCreatedSchema>;

export const afterUserCreatedHook: HookDefinition<AfterUserCreatedPayload> = {
  name: 'after-user-created',
  eventType: 'dev.tributary.auth.user.created',
  schema: afterUserCreatedSchema,
  subject: (p) => p.user.id,
  delivery: false,
  async handle() {
    return { kind: 'ok', body: {} };
  },
};
