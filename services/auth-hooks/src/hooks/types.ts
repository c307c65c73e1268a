import type {
  AUTH_HOOK_EVENT_TYPES,
  AUTH_HOOK_PAYLOAD_SCHEMAS,
  AuthHookName,
  AuthHookPayload,
  Logger,
} from '@tributary/shared';
import type { z } from 'zod';
import type { Policies } from '../policies/index.js';

/** The seven hooks, named as their paths (`POST /hooks/<name>`): the catalog's `AuthHookName`. */
export type HookName = AuthHookName;

/** The event type of hook `N` (DESIGN.md §3.3), from the catalog. */
export type HookEventType<N extends HookName = HookName> = (typeof AUTH_HOOK_EVENT_TYPES)[N];

export interface HookContext {
  policies: Policies;
  logger: Logger;
  /** Counts a policy failure (`claims`, `lockout`) in `auth_hooks_policy_errors_total`. */
  policyError(policy: 'claims' | 'lockout'): void;
}

/** What a hook answers Auth with, and what (besides the payload) goes into its event. */
export type HookOutcome =
  /** 200 with `body`. */
  | { kind: 'ok'; body: Record<string, unknown>; result?: Record<string, unknown> }
  /** 200 with the error body: Auth refuses the operation with `httpCode` and `message`. */
  | { kind: 'reject'; httpCode: number; message: string; result?: Record<string, unknown> };

/** A hook as the server runs it (payload type `P`; `unknown` once the hooks are listed together). */
export interface HookDefinition<P = unknown> {
  name: HookName;
  /** CloudEvent type (DESIGN.md §3.3). */
  eventType: HookEventType;
  /** Validates the payload Auth sends; unknown fields are kept (Auth adds fields over time). */
  schema: z.ZodType<P>;
  /** CloudEvent subject: the user id. */
  subject(payload: P): string | undefined;
  /**
   * Delivery hooks (send-email, send-sms) exist to hand work to a function: they answer 2xx only after the
   * broker has the event. Other hooks answer first and publish within a small budget.
   */
  delivery: boolean;
  handle(payload: P, ctx: HookContext): Promise<HookOutcome>;
}

/**
 * The definition of hook `N`, typed against the event catalog: its event type must be the catalog's type for
 * that hook and its schema the catalog's payload schema, so the payload a hook accepts is the `data` the
 * broker's ingress accepts. A catalog change that a hook disagrees with breaks this package's build
 * (`contract.typetest.ts` shows how).
 */
export interface CatalogHook<N extends HookName>
  extends Omit<HookDefinition<AuthHookPayload<N>>, 'name' | 'eventType' | 'schema'> {
  name: N;
  eventType: HookEventType<N>;
  schema: (typeof AUTH_HOOK_PAYLOAD_SCHEMAS)[N];
}

/** Declares hook `N`, checked against the catalog by {@link CatalogHook}. */
export function defineHook<N extends HookName>(hook: CatalogHook<N>): HookDefinition<AuthHookPayload<N>> {
  // The schema's output is `AuthHookPayload<N>` by definition; TypeScript cannot see it for a generic `N`.
  return hook as unknown as HookDefinition<AuthHookPayload<N>>;
}
