import type { ErrorCode } from '../error-codes.js';
import { NonRetriableError } from '../errors.js';

/**
 * An event that breaks the CloudEvents 1.0 rules. `issues` lists every problem found, each one readable on its
 * own (e.g. "attribute `id` must be a non-empty string"); the message joins them.
 */
export class InvalidCloudEventError extends NonRetriableError {
  readonly issues: readonly string[];

  constructor(
    issues: readonly string[],
    options: { code?: ErrorCode; prefix?: string; cause?: unknown } = {},
  ) {
    super(`${options.prefix ?? 'invalid CloudEvent'}: ${issues.join('; ')}`, {
      code: options.code ?? 'CLOUDEVENT_DECODE',
      cause: options.cause,
    });
    this.issues = issues;
  }
}

/**
 * A message (HTTP request/response or Kafka record) that does not carry a valid CloudEvent. A
 * `NonRetriableError` with `statusCode` 400, so a server can answer with `err.message` as the body.
 */
export class CloudEventDecodeError extends InvalidCloudEventError {
  constructor(issues: readonly string[], cause?: unknown) {
    super(issues, { code: 'CLOUDEVENT_DECODE', prefix: 'not a valid CloudEvent', cause });
  }
}
