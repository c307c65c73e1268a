import { type AuthHookPayload, EVENT_TYPES, sendSmsPayloadSchema } from '@tributary/shared';
import { defineHook } from './types.js';

/** Send SMS: `{ user, sms: { otp } }`; the event is the delivery request, `{}` once the broker has it. */
export type SendSmsPayload = AuthHookPayload<'send-sms'>;

export const sendSmsHook = defineHook({
  name: 'send-sms',
  eventType: EVENT_TYPES.authSmsRequested,
  schema: sendSmsPayloadSchema,
  subject: (p) => p.user?.id,
  delivery: true,
  async handle() {
    return { kind: 'ok', body: {} };
  },
});
