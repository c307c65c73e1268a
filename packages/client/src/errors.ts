import { ERROR_CODES, type ErrorCode } from './error-codes.js';

export {
  ERROR_AREAS,
  ERROR_CODES,
  type ErrorBody,
  type ErrorCode,
  type ErrorCodeInfo,
  isErrorCode,
} from './error-codes.js';

/**
 * Error hierarchy shared by every Tributary package (after kafkajs and fastify): each error has a stable
 * `code` from the catalogue (`error-codes.ts`, `docs/ERRORS.md`), says whether retrying can help
 * (`retriable`, which maps straight to the broker's retry decision) and keeps the underlying `cause`.
 * `retriable` and `statusCode` default to the catalogue's entry for the code.
 */
export interface TributaryErrorOptions {
  /** Default `INTERNAL`. */
  code?: ErrorCode;
  retriable?: boolean;
  cause?: unknown;
  /** HTTP status to answer with when this error reaches a server boundary. */
  statusCode?: number;
}

export class TributaryError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly statusCode: number;
  override readonly cause: unknown;

  constructor(message: string, options: TributaryErrorOptions = {}) {
    super(message);
    this.name = new.target.name;
    this.code = options.code ?? 'INTERNAL';
    const entry = ERROR_CODES[this.code];
    this.retriable = options.retriable ?? entry.retriable;
    this.statusCode = options.statusCode ?? entry.status;
    this.cause = options.cause;
  }
}

/**
 * Thrown when retrying cannot help: invalid input, a rejected event, a failed precondition.
 * A function that throws it answers with a 400-class status and the broker does not retry.
 */
export class NonRetriableError extends TributaryError {
  constructor(message: string, options: Omit<TributaryErrorOptions, 'retriable'> = {}) {
    super(message, { code: 'NON_RETRIABLE', ...options, retriable: false });
  }
}

/** Invalid configuration found at start-up; the message names the variable. */
export class ConfigError extends TributaryError {
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`invalid configuration:\n  ${issues.join('\n  ')}`, { code: 'CONFIG_INVALID', retriable: false });
    this.issues = issues;
  }
}

/** True when `err` says retrying may succeed. Unknown errors (network, timeouts) count as retriable. */
export function isRetriable(err: unknown): boolean {
  if (err instanceof TributaryError) return err.retriable;
  if (err && typeof err === 'object' && 'retriable' in err)
    return Boolean((err as { retriable: unknown }).retriable);
  return true;
}
