import {
  type AuthHookPayload,
  EVENT_TYPES,
  passwordVerificationAttemptPayloadSchema,
} from '@tributary/shared';
import { defineHook } from './types.js';

/** Auth's own wording for a rejected attempt (v0hooks.DefaultPasswordHookRejectionMessage). */
export const PASSWORD_REJECTION_MESSAGE = 'Further password verification attempts will be rejected.';

/**
 * Password verification attempt: `{ user_id, valid }` -> `{ decision, message, should_logout_user }`.
 * Rejects while the lockout (N failures within a window, kept in Postgres) holds the user.
 */
export type PasswordVerificationAttemptPayload = AuthHookPayload<'password-verification-attempt'>;

export const passwordVerificationAttemptHook = defineHook({
  name: 'password-verification-attempt',
  eventType: EVENT_TYPES.authPasswordAttempted,
  schema: passwordVerificationAttemptPayloadSchema,
  subject: (p) => p.user_id,
  delivery: false,
  async handle(payload, { policies, logger, policyError }) {
    const lockout = policies.passwordLockout;
    if (lockout) {
      try {
        const state = await lockout.attempt(payload.user_id, payload.valid);
        if (state.locked) {
          const body = {
            decision: 'reject',
            message: PASSWORD_REJECTION_MESSAGE,
            should_logout_user: lockout.settings.logoutUser,
          };
          return {
            kind: 'ok',
            body,
            result: { ...body, failures: state.failures, locked_until: state.lockedUntil?.toISOString() },
          };
        }
        const body = { decision: 'continue', should_logout_user: false };
        return { kind: 'ok', body, result: { ...body, failures: state.failures } };
      } catch (err) {
        policyError('lockout');
        // The lockout store is unavailable: let Auth's own verification decide (fail open).
        logger.error({ err }, 'password lockout store failed; continuing');
      }
    }
    const body = { decision: 'continue', should_logout_user: false };
    return { kind: 'ok', body, result: body };
  },
});
