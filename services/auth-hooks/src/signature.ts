import { TributaryError } from '@tributary/shared';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { ReplayCache } from './replay-cache.js';

/**
 * Standard Webhooks verification as Supabase Auth signs hook requests (supabase/auth
 * internal/hooks/v0hooks/v0http): headers `webhook-id`, `webhook-timestamp` (Unix seconds) and
 * `webhook-signature`, which holds one `v1,<base64 HMAC-SHA256>` per configured secret joined by ", ".
 * The signed content is `<id>.<timestamp>.<raw body>`, so verification runs on the raw bytes.
 */

/** Standard Webhooks' default tolerance, and the one Supabase expects: 5 minutes either way. */
export const TIMESTAMP_TOLERANCE_SECONDS = 5 * 60;

export type SignatureFailureReason =
  | 'missing_headers'
  | 'invalid_timestamp'
  | 'stale_timestamp'
  | 'future_timestamp'
  | 'no_matching_signature'
  | 'replayed';

export const SIGNATURE_FAILURE_REASONS: readonly SignatureFailureReason[] = [
  'missing_headers',
  'invalid_timestamp',
  'stale_timestamp',
  'future_timestamp',
  'no_matching_signature',
  'replayed',
];

/** A request whose signature headers do not verify; answered with 401 (`UNAUTHORIZED`, `reason` says why). */
export class SignatureError extends TributaryError {
  constructor(
    readonly reason: SignatureFailureReason,
    message: string,
  ) {
    super(message, { code: 'UNAUTHORIZED' });
  }
}

/** The signature verified but the body is not JSON; answered with 400. */
export class InvalidJsonError extends TributaryError {
  constructor(cause: unknown) {
    super('request body is not valid JSON', { code: 'INVALID_JSON', cause });
  }
}

/** A bad `AUTH_HOOK_SECRETS` entry (CONFIG_INVALID); `env.ts` reports the message under the variable's name. */
function configError(message: string): TributaryError {
  return new TributaryError(message, { code: 'CONFIG_INVALID' });
}

/**
 * Parses `AUTH_HOOK_SECRETS`: Supabase's `v1,whsec_<base64>` form, several separated by `|` (as
 * `GOTRUE_HOOK_*_SECRETS` takes them). A bare `whsec_<base64>` is accepted too. Asymmetric `v1a,` keys are
 * not supported (Auth does not sign with them either). Throws naming the bad entry's position.
 */
export function parseSecrets(value: string): Webhook[] {
  const parts = value
    .split('|')
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length === 0) throw configError('expected at least one secret in the form v1,whsec_<base64>');
  return parts.map((part, i) => {
    const secret = part.startsWith('v1,') ? part.slice(3) : part;
    if (!secret.startsWith('whsec_')) {
      throw configError(`secret #${i + 1}: expected the form v1,whsec_<base64>`);
    }
    const base64 = secret.slice('whsec_'.length);
    if (base64.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
      throw configError(`secret #${i + 1}: the part after whsec_ is not base64`);
    }
    try {
      return new Webhook(secret);
    } catch (err) {
      throw configError(`secret #${i + 1}: ${(err as Error).message}`);
    }
  });
}

/**
 * The `standardwebhooks` package splits the signature header on single spaces only. Auth joins signatures
 * with ", ", which happens to work (the trailing comma is ignored), but a header joined with "," alone would
 * only have its first signature checked. Pulling every `v1,<base64>` token out and re-joining with a space
 * makes any of ", ", "," or " " work.
 */
export function normaliseSignatureHeader(header: string): string {
  const sigs = header.match(/v1,[A-Za-z0-9+/]+=*/g) ?? [];
  return sigs.join(' ');
}

function headerValue(headers: Record<string, string | string[] | undefined>, name: string) {
  const v = headers[name];
  if (Array.isArray(v)) return v.join(' ');
  return v;
}

export interface VerifierOptions {
  toleranceSeconds?: number;
  replayCacheSize: number;
  now?: () => number;
}

export class HookVerifier {
  private readonly tolerance: number;
  private readonly replay: ReplayCache;
  private readonly now: () => number;

  constructor(
    private readonly secrets: readonly Webhook[],
    opts: VerifierOptions,
  ) {
    if (secrets.length === 0) throw configError('HookVerifier needs at least one secret');
    this.tolerance = opts.toleranceSeconds ?? TIMESTAMP_TOLERANCE_SECONDS;
    this.now = opts.now ?? Date.now;
    this.replay = new ReplayCache(opts.replayCacheSize, this.now);
  }

  /**
   * Verifies the request against every secret (accepting the first that matches), rejects a replayed
   * `webhook-id`, then parses the body. Throws `SignatureError` (401) or `InvalidJsonError` (400).
   */
  verify(rawBody: Buffer, headers: Record<string, string | string[] | undefined>): unknown {
    const id = headerValue(headers, 'webhook-id');
    const timestamp = headerValue(headers, 'webhook-timestamp');
    const signature = headerValue(headers, 'webhook-signature');
    if (!id || !timestamp || !signature) {
      const missing = [
        !id && 'webhook-id',
        !timestamp && 'webhook-timestamp',
        !signature && 'webhook-signature',
      ].filter(Boolean);
      throw new SignatureError('missing_headers', `missing required header(s): ${missing.join(', ')}`);
    }
    if (!/^\d{1,12}$/.test(timestamp.trim())) {
      throw new SignatureError('invalid_timestamp', 'webhook-timestamp is not a Unix time in seconds');
    }
    const ts = Number(timestamp.trim());
    const nowSeconds = Math.floor(this.now() / 1000);
    if (nowSeconds - ts > this.tolerance) {
      throw new SignatureError('stale_timestamp', 'webhook-timestamp is too old');
    }
    if (ts > nowSeconds + this.tolerance) {
      throw new SignatureError('future_timestamp', 'webhook-timestamp is too far in the future');
    }
    const signatures = normaliseSignatureHeader(signature);
    if (!signatures) {
      throw new SignatureError('no_matching_signature', 'webhook-signature holds no v1 signature');
    }

    const swHeaders = {
      'webhook-id': id,
      'webhook-timestamp': timestamp.trim(),
      'webhook-signature': signatures,
    };
    let payload: unknown;
    let parseError: unknown;
    let matched = false;
    let failure: SignatureError | undefined;
    for (const secret of this.secrets) {
      try {
        payload = secret.verify(rawBody, swHeaders);
        matched = true;
        break;
      } catch (err) {
        if (err instanceof WebhookVerificationError) {
          // The package re-checks the timestamp against its own clock; map its wording to our reasons.
          if (/too old/.test(err.message))
            failure = new SignatureError('stale_timestamp', 'webhook-timestamp is too old');
          else if (/too new/.test(err.message))
            failure = new SignatureError('future_timestamp', 'webhook-timestamp is too far in the future');
          continue;
        }
        // The signature matched (the package parses only after a match) but the body is not JSON.
        matched = true;
        parseError = err;
        break;
      }
    }
    if (!matched) {
      throw (
        failure ?? new SignatureError('no_matching_signature', 'no signature matches any configured secret')
      );
    }
    if (this.replay.checkAndRemember(id, (ts + this.tolerance) * 1000)) {
      throw new SignatureError('replayed', 'webhook-id was already used');
    }
    if (parseError !== undefined) throw new InvalidJsonError(parseError);
    return payload;
  }
}
