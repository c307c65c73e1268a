import { TributaryError } from '@tributary/shared';

/** The retriable `LOG_TIMEOUT` error (503 at the ingress) of an append that took longer than `ms`. */
export function logTimeoutError(what: string, ms: number): TributaryError {
  return new TributaryError(`${what} timed out after ${ms} ms`, {
    code: 'LOG_TIMEOUT',
  });
}

/** Rejects with {@link logTimeoutError} when `p` takes longer than `ms` (without waiting for `p`). */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(logTimeoutError(what, ms)), ms);
  });
  p.catch(() => {}); // reported by the race below, or it lost to the timeout
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Wraps a backend error, keeping its `retriable` flag (unknown errors count as retriable). */
export function asLogError(err: unknown, message: string): TributaryError {
  if (err instanceof TributaryError) return err;
  const retriable =
    err && typeof err === 'object' && 'retriable' in err
      ? Boolean((err as { retriable: unknown }).retriable)
      : true;
  const detail = err instanceof Error ? err.message : String(err);
  return new TributaryError(`${message}: ${detail}`, {
    code: retriable ? 'LOG_UNAVAILABLE' : 'LOG_WRITE_FAILED',
    retriable,
    statusCode: retriable ? 503 : 500,
    cause: err,
  });
}
