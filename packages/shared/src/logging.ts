import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths pino censors in every log line. Secrets never reach logs: tokens, passwords, keys, signatures and
 * authorization headers are replaced by "[redacted]" wherever they appear at these depths.
 */
export const REDACT_PATHS = [
  'password',
  'secret',
  'token',
  'authorization',
  'accessKey',
  'secretKey',
  'apiKey',
  'jwt',
  '*.password',
  '*.secret',
  '*.secrets',
  '*.token',
  '*.authorization',
  '*.accessKey',
  '*.secretKey',
  '*.apiKey',
  '*.jwt',
  '*.*.password',
  '*.*.secret',
  '*.*.token',
  '*.*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["webhook-signature"]',
  'headers.authorization',
  'headers["webhook-signature"]',
];

export interface CreateLoggerOptions {
  /** Service name, logged as `service` on every line. */
  name: string;
  level?: string;
  /** Where to write; defaults to stdout. Tests pass a stream to read lines back. */
  destination?: NodeJS.WritableStream;
}

/** A pino logger with secrets redacted; use `logger.child({ component })` per subsystem. */
export function createLogger(opts: CreateLoggerOptions): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    base: { service: opts.name },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return opts.destination ? pino(options, opts.destination as DestinationStream) : pino(options);
}
