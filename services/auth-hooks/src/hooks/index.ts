import { afterUserCreatedHook } from './after-user-created.js';
import { beforeUserCreatedHook } from './before-user-created.js';
import { customAccessTokenHook } from './custom-access-token.js';
import { mfaVerificationAttemptHook } from './mfa-verification-attempt.js';
import { passwordVerificationAttemptHook } from './password-verification-attempt.js';
import { sendEmailHook } from './send-email.js';
import { sendSmsHook } from './send-sms.js';
import type { HookDefinition } from './types.js';

export type { CatalogHook, HookContext, HookDefinition, HookName, HookOutcome } from './types.js';

/** Each hook parses its own payload with its schema before `handle`, so erasing P here is safe. */
function erase<P>(hook: HookDefinition<P>): HookDefinition<unknown> {
  return hook as unknown as HookDefinition<unknown>;
}

/** Every hook, served at `POST /hooks/<name>`. */
export const HOOKS: readonly HookDefinition<unknown>[] = [
  erase(customAccessTokenHook),
  erase(sendEmailHook),
  erase(sendSmsHook),
  erase(mfaVerificationAttemptHook),
  erase(passwordVerificationAttemptHook),
  erase(beforeUserCreatedHook),
  erase(afterUserCreatedHook),
];
