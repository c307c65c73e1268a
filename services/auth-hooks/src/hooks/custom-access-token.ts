import { type AuthHookPayload, customAccessTokenPayloadSchema, EVENT_TYPES } from '@tributary/shared';
import { defineHook } from './types.js';

/**
 * Custom access token: Auth sends the claims it is about to sign and takes back `{ claims }`, which must
 * still hold the required set (iss, aud, exp, iat, sub, role, aal, session_id, email, phone,
 * is_anonymous). We answer with the incoming claims plus the SQL policy's extras.
 */
export type CustomAccessTokenPayload = AuthHookPayload<'custom-access-token'>;

export const customAccessTokenHook = defineHook({
  name: 'custom-access-token',
  eventType: EVENT_TYPES.authTokenIssued,
  schema: customAccessTokenPayloadSchema,
  subject: (p) => p.user_id,
  delivery: false,
  async handle(payload, { policies, logger, policyError }) {
    const claims: Record<string, unknown> = { ...payload.claims };
    const policy = policies.claims;
    if (!policy) return { kind: 'ok', body: { claims } };
    try {
      const extra = await policy.source.claimsFor(payload.user_id);
      Object.assign(claims, extra);
      return { kind: 'ok', body: { claims }, result: { added_claims: Object.keys(extra) } };
    } catch (err) {
      policyError('claims');
      if (policy.failOpen) {
        logger.warn(
          { err, userId: payload.user_id },
          'claims query failed; issuing the token without extra claims',
        );
        return { kind: 'ok', body: { claims }, result: { added_claims: [], claims_error: true } };
      }
      logger.error({ err, userId: payload.user_id }, 'claims query failed; refusing the token (fail closed)');
      return {
        kind: 'reject',
        httpCode: 503,
        message: 'Could not load access token claims; try again shortly.',
        result: { claims_error: true },
      };
    }
  },
});
