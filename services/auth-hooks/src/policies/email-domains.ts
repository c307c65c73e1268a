/**
 * Email-domain allow/deny list for before-user-created. Entries are case-insensitive domains:
 * `example.com` matches exactly that domain, `*.example.com` matches its subdomains (not the domain
 * itself; list both for both). Deny wins over allow. An empty allow list allows every domain not denied.
 * A user without an email (phone or anonymous sign-up) is not subject to this policy.
 */
export interface EmailDomainSettings {
  allow: readonly string[];
  deny: readonly string[];
  /** Message Auth shows the client on rejection. */
  message: string;
}

export const DEFAULT_DOMAIN_REJECTION_MESSAGE = 'Sign-ups from this email domain are not allowed.';

export type DomainDecision =
  | { allowed: true }
  | { allowed: false; domain: string; rule: 'denied' | 'not_allowed' };

function normalise(entry: string): string {
  return entry.trim().toLowerCase().replace(/\.$/, '');
}

function matches(domain: string, entry: string): boolean {
  if (entry.startsWith('*.')) return domain.endsWith(entry.slice(1));
  return domain === entry;
}

export class EmailDomainPolicy {
  private readonly allow: string[];
  private readonly deny: string[];
  readonly message: string;

  constructor(settings: EmailDomainSettings) {
    this.allow = settings.allow.map(normalise).filter(Boolean);
    this.deny = settings.deny.map(normalise).filter(Boolean);
    this.message = settings.message;
  }

  get enabled(): boolean {
    return this.allow.length > 0 || this.deny.length > 0;
  }

  check(email: string | undefined | null): DomainDecision {
    if (!email || !this.enabled) return { allowed: true };
    const at = email.lastIndexOf('@');
    const domain = normalise(at >= 0 ? email.slice(at + 1) : '');
    if (this.deny.some((e) => matches(domain, e))) return { allowed: false, domain, rule: 'denied' };
    if (this.allow.length > 0 && !this.allow.some((e) => matches(domain, e))) {
      return { allowed: false, domain, rule: 'not_allowed' };
    }
    return { allowed: true };
  }
}
