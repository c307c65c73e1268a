/**
 * `data` of auth events (DESIGN.md §3.3): the Supabase Auth hook payload as Auth sent it, plus `result` (what
 * auth-hooks decided) for hooks that decide something. Loose objects: fields Auth adds later pass through.
 */
import { z } from 'zod';
import { secret } from './secrets.js';

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

/** Custom access token hook: `{ user_id, claims, authentication_method }`. */
export const authTokenIssuedSchema = z.looseObject({
  metadata,
  user_id: z.string().min(1),
  claims: z.looseObject({
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
    app_metadata: z.record(z.string(), z.unknown()).optional(),
    user_metadata: z.record(z.string(), z.unknown()).optional(),
    amr: z.array(z.looseObject({ method: z.string(), timestamp: z.number() })).optional(),
  }),
  /** e.g. password, otp, oauth, token_refresh, anonymous, ... */
  authentication_method: z.string().optional(),
  result,
});

/** Send email hook: `{ user, email_data }`. */
export const authEmailRequestedSchema = z.looseObject({
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
  result,
});

/** Send SMS hook: `{ user, sms: { otp } }`. */
export const authSmsRequestedSchema = z.looseObject({
  metadata,
  user: authUserSchema.optional(),
  sms: z.looseObject({
    otp: secret(z.string().min(1)),
    sms_type: z.string().optional(),
    phone: z.string().optional(),
  }),
  result,
});

/** MFA verification attempt hook: `{ factor_id, factor_type, user_id, valid }`. */
export const authMfaAttemptedSchema = z.looseObject({
  metadata,
  user_id: z.string().min(1),
  factor_id: z.string().optional(),
  /** totp, phone, webauthn */
  factor_type: z.string().optional(),
  valid: z.boolean(),
  result,
});

/** Password verification attempt hook: `{ user_id, valid }`. */
export const authPasswordAttemptedSchema = z.looseObject({
  metadata,
  user_id: z.string().min(1),
  valid: z.boolean(),
  result,
});

/** Before user created hook: `{ metadata, user }`; the user is not in the database yet (older Auth: no id). */
export const authUserCreatingSchema = z.looseObject({
  metadata,
  user: authUserSchema.extend({ id: z.string().min(1).optional() }),
  result,
});

/** After user created hook: `{ metadata, user }`. */
export const authUserCreatedSchema = z.looseObject({
  metadata,
  user: authUserSchema,
  result,
});

export type AuthHookMetadata = z.infer<typeof authHookMetadataSchema>;
export type AuthUser = z.infer<typeof authUserSchema>;
export type AuthTokenIssuedData = z.infer<typeof authTokenIssuedSchema>;
export type AuthEmailRequestedData = z.infer<typeof authEmailRequestedSchema>;
export type AuthSmsRequestedData = z.infer<typeof authSmsRequestedSchema>;
export type AuthMfaAttemptedData = z.infer<typeof authMfaAttemptedSchema>;
export type AuthPasswordAttemptedData = z.infer<typeof authPasswordAttemptedSchema>;
export type AuthUserCreatingData = z.infer<typeof authUserCreatingSchema>;
export type AuthUserCreatedData = z.infer<typeof authUserCreatedSchema>;
