import { z } from 'zod';
import { newUserSchema, withMetadata } from './common.js';
import type { HookDefinition } from './types.js';

/**
 * Before user created: `{ metadata, user }` -> `{}` to allow, or the error body (403) to refuse the
 * sign-up. Applies the email-domain allow/deny list.
 */
export const beforeUserCreatedSchema = z.looseObject({
  ...withMetadata,
  user: newUserSchema,
});

export type BeforeUserCreatedPayload = z.output<typeof beforeUserCreatedSchema>;

export const beforeUserCreatedHook: HookDefinition<BeforeUserCreatedPayload> = {
  name: 'before-user-created',
  eventType: 'dev.tributary.auth.user.creating',
  schema: beforeUserCreatedSchema,
  subject: (p) => p.user.id,
  delivery: false,
  async handle(payload, { policies }) {
    const decision = policies.emailDomains.check(payload.user.email);
    if (!decision.allowed) {
      return {
        kind: 'reject',
        httpCode: 403,
        message: policies.emailDomains.message,
        result: { decision: 'reject', rule: decision.rule, domain: decision.domain },
      };
    }
    return { kind: 'ok', body: {}, result: { decision: 'continue' } };
  },
};
