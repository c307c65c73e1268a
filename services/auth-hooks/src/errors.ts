import { type ErrorCode, TributaryError } from '@tributary/shared';

/**
 * Supabase Auth's hook error body. Auth reads it only from a 2xx response (supabase/auth
 * internal/hooks/hookerrors; a 4xx/5xx status is reported as a generic hook failure and the body is
 * ignored, see supabase/auth#2235), so a policy rejection is sent as 200 + this body, while protocol
 * failures (bad signature, bad payload, broker unavailable) use the matching HTTP status + this body.
 * Auth treats an error without a message as success, so the message is never empty.
 */
export interface HookErrorBody {
  error: { http_code: number; message: string };
}

export function errorBody(httpCode: number, message: string): HookErrorBody {
  return { error: { http_code: httpCode, message: message || 'hook failed' } };
}

/** A failure answered with HTTP `statusCode` and the error body; `retryAfterSeconds` makes Auth retry (503). */
export class HookHttpError extends TributaryError {
  readonly retryAfterSeconds: number | undefined;
  constructor(
    statusCode: number,
    message: string,
    opts: { code?: ErrorCode; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, {
      code: opts.code ?? 'HOOK_ERROR',
      statusCode,
      retriable: statusCode >= 500,
      cause: opts.cause,
    });
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}
