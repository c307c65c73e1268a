import type { ClaimsSource } from './claims.js';
import type { EmailDomainPolicy } from './email-domains.js';
import type { LockoutPolicy } from './lockout.js';

export * from './claims.js';
export * from './config.js';
export * from './email-domains.js';
export * from './lockout.js';

/** The policies the hooks consult; a missing one is off. */
export interface Policies {
  emailDomains: EmailDomainPolicy;
  claims?: { source: ClaimsSource; failOpen: boolean };
  passwordLockout?: LockoutPolicy;
  mfaLockout?: LockoutPolicy;
}
