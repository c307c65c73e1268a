/**
 * `data` of auth events (DESIGN.md §3.3): the Supabase Auth hook payload as Auth sent it, plus `result` (what
 * auth-hooks decided) for hooks that decide something. Loose objects: fields Auth adds later pass through.
 */
import { z } from 'zod';
import { secret } from './secrets.js';
import type { AuthHookName } from './types.js';

/** `metadata` Auth attaches to a hook call; `uuid` (the event id) is the same on every retry of one call. */
export const authHookMetadataSchema = z.looseObject({
  uuid: z.string().min(1),
  time: z.string().optional(),
  name: z.string().optional(),
  ip_address: z.string().optional(),
});

/** The user object (`auth.users` as Auth marshals it). */
export const authUserSchema = z.looseObject({
  id: z.string().min(1),
  aud: z.string().optional(),
  role: z.string().optional(),
  email: z.string().optional(),
  phone: z.string().optional(),
  app_metadata: z.record(z.string(), z.unknown()).nullish(),
  user_metadata: z.record(z.string(), z.unknown()).nullish(),
  identities: z.array(z.looseObject({})).nullish(),
  created_at: z.string().optional(),
  updated_at: z.string().optional(),
  is_anonymous: z.boolean().optional(),
});

/** What auth-hooks decided for the call (e.g. `{ decision: "reject" }`), when it decides something. */
const result = z.record(z.string(), z.unknown()).optional();
const metadata = authHookMetadataSchema.optional();

/**
 * The claims Auth is about to sign (supabase/auth `AccessTokenClaims`). Maps Auth marshals from a nil Go map
 * arrive as `null`, hence `nullish`.
 */
export const authAccessTokenClaimsSchema = z.looseObject({
  iss: z.string().optional(),
  aud: z.union([z.string(), z.array(z.string())]),
  exp: z.number(),
  iat: z.number(),
  sub: z.string(),
  role: z.string(),
  aal: z.string().optional(),
  session_id: z.string().optional(),
  email: z.string().optional(),
  phone: z.string().optional(),
  is_anonymous: z.boolean().optional(),
  app_metadata: z.record(z.string(), z.unknown()).nullish(),
  user_metadata: z.record(z.string(), z.unknown()).nullish(),
  amr: z.array(z.looseObject({ method: z.string(), timestamp: z.number() })).nullish(),
});

/*
 * Hook payloads, as Auth sends them to `POST /hooks/<name>`. auth-hooks validates each call with these
 * schemas, and the event's `data` is the payload plus `result`, so what the hook accepts is what the catalog
 * accepts: the two cannot drift.
 */

/** Custom access token hook: `{ user_id, claims, authentication_method }`. */
export const customAccessTokenPayloadSchema = z.looseObject({
  metadata,
  user_id: z.string().min(1),
  claims: authAccessTokenClaimsSchema,
  /** e.g. password, otp, oauth, token_refresh, anonymous, ... */
  authentication_method: z.string().optional(),
});

/** Send email hook: `{ user, email_data }`. */
export const sendEmailPayloadSchema = z.looseObject({
  metadata,
  user: authUserSchema,
  email_data: z.looseObject({
    /** signup, recovery, invite, magiclink, email_change, email, reauthentication, ... */
    email_action_type: z.string().min(1),
    /** The one-time code (OTP) the email carries: secret. */
    token: secret(z.string()).optional(),
    token_hash: secret(z.string()).optional(),
    redirect_to: z.string().optional(),
    site_url: z.string().optional(),
    token_new: secret(z.string()).optional(),
    token_hash_new: secret(z.string()).optional(),
  }),
});

/** Send SMS hook: `{ user, sms: { otp } }`. */
export const sendSmsPayloadSchema = z.looseObject({
  metadata,
  user: authUserSchema.optional(),
  sms: z.looseObject({
    otp: secret(z.string().min(1)),
    sms_type: z.string().optional(),
    phone: z.string().optional(),
  }),
});

/** MFA verification attempt hook: `{ factor_id, factor_type, user_id, valid }`. */
export const mfaVerificationAttemptPayloadSchema = z.looseObject({
  metadata,
  user_id: z.string().min(1),
  factor_id: z.string().optional(),
  /** totp, phone, webauthn */
  factor_type: z.string().optional(),
  valid: z.boolean(),
});

/** Password verification attempt hook: `{ user_id, valid }`. */
export const passwordVerificationAttemptPayloadSchema = z.looseObject({
  metadata,
  user_id: z.string().min(1),
  valid: z.boolean(),
});

/** Before user created hook: `{ metadata, user }`; the user is not in the database yet (older Auth: no id). */
export const beforeUserCreatedPayloadSchema = z.looseObject({
  metadata,
  user: authUserSchema.extend({ id: z.string().min(1).optional() }),
});

/** After user created hook: `{ metadata, user }`. */
export const afterUserCreatedPayloadSchema = z.looseObject({
  metadata,
  user: authUserSchema,
});

/** Each hook's payload schema, by hook name (the keys of `AUTH_HOOK_EVENT_TYPES`). */
export const AUTH_HOOK_PAYLOAD_SCHEMAS = {
  'custom-access-token': customAccessTokenPayloadSchema,
  'send-email': sendEmailPayloadSchema,
  'send-sms': sendSmsPayloadSchema,
  'mfa-verification-attempt': mfaVerificationAttemptPayloadSchema,
  'password-verification-attempt': passwordVerificationAttemptPayloadSchema,
  'before-user-created': beforeUserCreatedPayloadSchema,
  'after-user-created': afterUserCreatedPayloadSchema,
} as const satisfies Record<AuthHookName, z.ZodType>;

/** The payload Auth sends to hook `N`. */
export type AuthHookPayload<N extends AuthHookName> = z.output<(typeof AUTH_HOOK_PAYLOAD_SCHEMAS)[N]>;

/* Event `data`: the payload plus `result`. */
export const authTokenIssuedSchema = customAccessTokenPayloadSchema.extend({ result });
export const authEmailRequestedSchema = sendEmailPayloadSchema.extend({ result });
export const authSmsRequestedSchema = sendSmsPayloadSchema.extend({ result });
export const authMfaAttemptedSchema = mfaVerificationAttemptPayloadSchema.extend({ result });
export const authPasswordAttemptedSchema = passwordVerificationAttemptPayloadSchema.extend({ result });
export const authUserCreatingSchema = beforeUserCreatedPayloadSchema.extend({ result });
export const authUserCreatedSchema = afterUserCreatedPayloadSchema.extend({ result });

export type AuthAccessTokenClaims = z.infer<typeof authAccessTokenClaimsSchema>;
export type AuthHookMetadata = z.infer<typeof authHookMetadataSchema>;
export type AuthUser = z.infer<typeof authUserSchema>;
export type AuthTokenIssuedData = z.infer<typeof authTokenIssuedSchema>;
export type AuthEmailRequestedData = z.infer<typeof authEmailRequestedSchema>;
export type AuthSmsRequestedData = z.infer<typeof authSmsRequestedSchema>;
export type AuthMfaAttemptedData = z.infer<typeof authMfaAttemptedSchema>;
export type AuthPasswordAttemptedData = z.infer<typeof authPasswordAttemptedSchema>;
export type AuthUserCreatingData = z.infer<typeof authUserCreatingSchema>;
export type AuthUserCreatedData = z.infer<typeof authUserCreatedSchema>;
