import { z } from 'zod';
import { userSchema, withMetadata } from './common.js';
import type { HookDefinition } from './types.js';

/** Send SMS: `{ user, sms: { otp } }`; the event is the delivery request, `{}` once the broker has it. */
export const sendSmsSchema = z.looseObject({
  ...withMetadata,
  user: userSchema.optional(),
  sms: z.looseObject({
    otp: z.string().min(1),
    sms_type: z.string().optional(),
    phone: z.string().optional(),
  }),
});

export type SendSmsPayload = z.output<typeof sendSmsSchema>;

export const sendSmsHook: HookDefinition<SendSmsPayload> = {
  name: 'send-sms',
  eventType: 'dev.tributary.auth.sms.requested',
  schema: sendSmsSchema,
  subject: (p) => p.user?.id,
  delivery: true,
  async handle() {
    return { kind: 'ok', body: {} };
  },
};
