import { z } from 'zod';
import { withMetadata } from './common.js';
import type { HookDefinition } from './types.js';

/**
 * Custom access token: Auth sends the claims it is about to sign and takes back `{ claims }`, which must
 * still hold the required set (iss, aud, exp, iat, sub, role, aal, session_id, email, phone,
 * is_anonymous). We answer with the incoming claims plus the SQL policy's extras.
 */
export const claimsSchema = z.looseObject({
  iss: z.string().optional(),
  aud: z.union([z.string(), z.array(z.string())]),
  exp: z.number().int(),
  iat: z.number().int(),
  sub: z.string(),
  role: z.string(),
  aal: z.string().optional(),
  session_id: z.string().optional(),
  email: z.string().optional(),
  phone: z.string().optional(),
  is_anonymous: z.boolean().optional(),
});

export const customAccessTokenSchema = z.looseObject({
  ...withMetadata,
  user_id: z.string().min(1),
  claims: claimsSchema,
  authentication_method: z.string().optional(),
});

export type CustomAccessTokenPayload = z.output<typeof customAccessTokenSchema>;

export const customAccessTokenHook: HookDefinition<CustomAccessTokenPayload> = {
  name: 'custom-access-token',
  eventType: 'dev.tributary.auth.token.issued',
  schema: customAccessTokenSchema,
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
};
