import { z } from 'zod';
import { withMetadata } from './common.js';
import type { HookDefinition } from './types.js';

/** Auth's own wording for a rejected attempt (v0hooks.DefaultMFAHookRejectionMessage). */
export const MFA_REJECTION_MESSAGE = 'Further MFA verification attempts will be rejected.';

/**
 * MFA verification attempt: `{ user_id, factor_id, factor_type, valid }` -> `{ decision, message }`.
 * Continues unless the (optional) MFA lockout has locked the user.
 */
export const mfaVerificationAttemptSchema = z.looseObject({
  ...withMetadata,
  user_id: z.string().min(1),
  factor_id: z.string().optional(),
  factor_type: z.string().optional(),
  valid: z.boolean(),
});

export type MfaVerificationAttemptPayload = z.output<typeof mfaVerificationAttemptSchema>;

export const mfaVerificationAttemptHook: HookDefinition<MfaVerificationAttemptPayload> = {
  name: 'mfa-verification-attempt',
  eventType: 'dev.tributary.auth.mfa.attempted',
  schema: mfaVerificationAttemptSchema,
  subject: (p) => p.user_id,
  delivery: false,
  async handle(payload, { policies, logger, policyError }) {
    const lockout = policies.mfaLockout;
    if (lockout) {
      try {
        const state = await lockout.attempt(payload.user_id, payload.valid);
        if (state.locked) {
          const body = { decision: 'reject', message: MFA_REJECTION_MESSAGE };
          return { kind: 'ok', body, result: { ...body, failures: state.failures } };
        }
      } catch (err) {
        policyError('lockout');
        // The lockout store is unavailable: let Auth's own verification decide (fail open).
        logger.error({ err }, 'MFA lockout store failed; continuing');
      }
    }
    const body = { decision: 'continue' };
    return { kind: 'ok', body, result: body };
  },
};
