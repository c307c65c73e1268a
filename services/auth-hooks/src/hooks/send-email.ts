import { type AuthHookPayload, EVENT_TYPES, sendEmailPayloadSchema } from '@tributary/shared';
import { defineHook } from './types.js';

/**
 * Send email: Auth hands over the email to send (`email_action_type` signup, recovery, invite,
 * magiclink, email_change, reauthentication, ... with its token and token_hash). The event
 * `dev.tributary.auth.email.requested` is the delivery request a function fulfils; Auth gets `{}` once
 * the broker has it.
 */
export type SendEmailPayload = AuthHookPayload<'send-email'>;

export const sendEmailHook = defineHook({
  name: 'send-email',
  eventType: EVENT_TYPES.authEmailRequested,
  schema: sendEmailPayloadSchema,
  subject: (p) => p.user.id,
  delivery: true,
  async handle() {
    return { kind: 'ok', body: {} };
  },
});
