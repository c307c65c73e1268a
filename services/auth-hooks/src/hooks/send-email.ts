import { z } from 'zod';
import { userSchema, withMetadata } from './common.js';
import type { HookDefinition } from './types.js';

/**
 * Send email: Auth hands over the email to send (`email_action_type` signup, recovery, invite,
 * magiclink, email_change, reauthentication, ... with its token and token_hash). The event
 * `dev.tributary.auth.email.requested` is the delivery request a function fulfils; Auth gets `{}` once
 * the broker has it.
 */
export const emailDataSchema = z.looseObject({
  token: z.string().optional(),
  token_hash: z.string().optional(),
  redirect_to: z.string().optional(),
  email_action_type: z.string().min(1),
  site_url: z.string().optional(),
  token_new: z.string().optional(),
  token_hash_new: z.string().optional(),
});

export const sendEmailSchema = z.looseObject({
  ...withMetadata,
  user: userSchema,
  email_data: emailDataSchema,
});

export type SendEmailPayload = z.output<typeof sendEmailSchema>;

export const sendEmailHook: HookDefinition<SendEmailPayload> = {
  name: 'send-email',
  eventType: 'dev.tributary.auth.email.requested',
  schema: sendEmailSchema,
  subject: (p) => p.user.id,
  delivery: true,
  async handle() {
    return { kind: 'ok', body: {} };
  },
};
