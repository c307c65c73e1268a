import { type AuthHookPayload, EVENT_TYPES, mfaVerificationAttemptPayloadSchema } from '@tributary/shared';
import { defineHook } from './types.js';

/** Auth's own wording for a rejected attempt (v0hooks.DefaultMFAHookRejectionMessage). */
export const MFA_REJECTION_MESSAGE = 'Further MFA verification attempts will be rejected.';

/**
 * MFA verification attempt: `{ user_id, factor_id, factor_type, valid }` -> `{ decision, message }`.
 * Continues unless the (optional) MFA lockout has locked the user.
 */
export type MfaVerificationAttemptPayload = AuthHookPayload<'mfa-verification-attempt'>;

export const mfaVerificationAttemptHook = defineHook({
  name: 'mfa-verification-attempt',
  eventType: EVENT_TYPES.authMfaAttempted,
  schema: mfaVerificationAttemptPayloadSchema,
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
});
