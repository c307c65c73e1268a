import { z } from 'zod';

/**
 * Pieces of Auth's hook payloads (supabase/auth internal/hooks/v0hooks). Objects are loose: fields Auth
 * adds later pass through untouched into the event.
 */

/** `metadata` Auth attaches to every hook call: `uuid` is the same on each retry of one call. */
export const metadataSchema = z.looseObject({
  uuid: z.string().min(1),
  time: z.string().optional(),
  name: z.string().optional(),
  ip_address: z.string().optional(),
});

/** The user record (the shape of `auth.users` as Auth's `models.User` marshals it). */
export const userSchema = z.looseObject({
  id: z.string().min(1),
  aud: z.string().optional(),
  role: z.string().optional(),
  email: z.string().optional(),
  phone: z.string().optional(),
  app_metadata: z.record(z.string(), z.unknown()).optional().nullable(),
  user_metadata: z.record(z.string(), z.unknown()).optional().nullable(),
  is_anonymous: z.boolean().optional(),
});

/** Before the insert the id may not be set yet in older Auth versions; everything else as `userSchema`. */
export const newUserSchema = userSchema.extend({ id: z.string().min(1).optional() });

export const withMetadata = { metadata: metadataSchema.optional() };
