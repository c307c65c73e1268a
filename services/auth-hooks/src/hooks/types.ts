import type { Logger } from '@tributary/shared';
import type { z } from 'zod';
import type { Policies } from '../policies/index.js';

/** The seven hooks, named as their paths (`POST /hooks/<name>`). */
export type HookName =
  | 'custom-access-token'
  | 'send-email'
  | 'send-sms'
  | 'mfa-verification-attempt'
  | 'password-verification-attempt'
  | 'before-user-created'
  | 'after-user-created';

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

export interface HookDefinition<P = unknown> {
  name: HookName;
  /** CloudEvent type (DESIGN.md §3.3). */
  eventType: string;
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
