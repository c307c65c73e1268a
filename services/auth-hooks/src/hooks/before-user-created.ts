import { type AuthHookPayload, beforeUserCreatedPayloadSchema, EVENT_TYPES } from '@tributary/shared';
import { defineHook } from './types.js';

/**
 * Before user created: `{ metadata, user }` -> `{}` to allow, or the error body (403) to refuse the
 * sign-up. Applies the email-domain allow/deny list.
 */
export type BeforeUserCreatedPayload = AuthHookPayload<'before-user-created'>;

export const beforeUserCreatedHook = defineHook({
  name: 'before-user-created',
  eventType: EVENT_TYPES.authUserCreating,
  schema: beforeUserCreatedPayloadSchema,
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
});
