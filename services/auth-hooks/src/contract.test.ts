/**
 * auth-hooks against the event catalog (DESIGN.md §3.3). The runtime half checks each hook uses the catalog's
 * event type and payload schema; the `@ts-expect-error` half (checked by `pnpm typecheck`, where an unused
 * directive is itself an error) shows that a hook disagreeing with the catalog does not compile.
 */
import { describe, expect, it } from '@jest/globals';
import {
  AUTH_HOOK_EVENT_TYPES,
  AUTH_HOOK_PAYLOAD_SCHEMAS,
  type AuthHookPayload,
  catalog,
  EVENT_TYPES,
  sendEmailPayloadSchema,
} from '@tributary/shared';
import { z } from 'zod';
import { HOOKS } from './hooks/index.js';
import { defineHook } from './hooks/types.js';

const ok = async () => ({ kind: 'ok' as const, body: {} });

/** Hooks that disagree with the catalog: each line marked `@ts-expect-error` must fail to compile. */
export const disagreeing = [
  defineHook({
    name: 'send-email',
    // @ts-expect-error an event type that is not in the catalog
    eventType: 'dev.tributary.auth.email.requestd',
    schema: sendEmailPayloadSchema,
    subject: (p) => p.user.id,
    delivery: true,
    handle: ok,
  }),
  defineHook({
    name: 'send-email',
    // @ts-expect-error another hook's event type
    eventType: EVENT_TYPES.authSmsRequested,
    schema: sendEmailPayloadSchema,
    subject: (p) => p.user.id,
    delivery: true,
    handle: ok,
  }),
  defineHook({
    name: 'send-email',
    eventType: EVENT_TYPES.authEmailRequested,
    // @ts-expect-error a second payload schema beside the catalog's
    schema: z.looseObject({ user: z.looseObject({ id: z.string() }), email_data: z.looseObject({}) }),
    subject: (p) => p.user.id,
    delivery: true,
    handle: ok,
  }),
  defineHook({
    name: 'custom-access-token',
    eventType: EVENT_TYPES.authTokenIssued,
    schema: AUTH_HOOK_PAYLOAD_SCHEMAS['custom-access-token'],
    // @ts-expect-error a field the catalog's payload does not have
    subject: (p): string => p.userId,
    delivery: false,
    handle: ok,
  }),
];

// The payload types are the catalog's: fields have the catalog's types.
const claims = (p: AuthHookPayload<'custom-access-token'>): number => p.claims.exp;
// @ts-expect-error `valid` is a boolean in the catalog
const attempted = (p: AuthHookPayload<'mfa-verification-attempt'>): string => p.valid;

describe('auth-hooks and the event catalog', () => {
  it('serves one hook per catalog hook name', () => {
    expect(HOOKS.map((h) => h.name).sort()).toEqual(Object.keys(AUTH_HOOK_EVENT_TYPES).sort());
  });

  it.each(
    HOOKS.map((h) => [h.name, h] as const),
  )('%s publishes the catalog type and validates with its payload schema', (name, hook) => {
    expect(hook.eventType).toBe(AUTH_HOOK_EVENT_TYPES[name]);
    expect(hook.schema).toBe(AUTH_HOOK_PAYLOAD_SCHEMAS[name]);
    expect(catalog.has(hook.eventType)).toBe(true);
  });

  it('an accepted payload plus result is valid event data', () => {
    const payload = {
      metadata: { uuid: 'c0ffee' },
      user_id: 'u1',
      claims: {
        aud: 'authenticated',
        exp: 1,
        iat: 1,
        sub: 'u1',
        role: 'authenticated',
        app_metadata: null,
        amr: [{ method: 'password', timestamp: 1 }],
      },
    };
    const hook = HOOKS.find((h) => h.name === 'custom-access-token');
    expect(hook?.schema.safeParse(payload).success).toBe(true);
    expect(claims(payload)).toBe(1);
    expect(
      catalog.validateData(EVENT_TYPES.authTokenIssued, { ...payload, result: { added_claims: [] } }),
    ).toEqual({
      ok: true,
    });
    expect(disagreeing).toHaveLength(4);
    expect(typeof attempted).toBe('function');
  });
});
