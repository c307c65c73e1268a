import { TributaryError } from '@tributary/shared';

/**
 * Runs `work` with a signal that aborts after `ms`, and rejects then with a retriable `LOG_TIMEOUT` error
 * (503 at the ingress) without waiting for `work` to notice.
 */
export function withTimeout<T>(
  work: (signal: AbortSignal) => Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new TributaryError(`${what} timed out after ${ms} ms`, {
        code: 'LOG_TIMEOUT',
        retriable: true,
        statusCode: 503,
      });
      controller.abort(err);
      reject(err);
    }, ms);
  });
  const p = work(controller.signal);
  p.catch(() => {}); // the race below reports it, or it lost to the timeout
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
