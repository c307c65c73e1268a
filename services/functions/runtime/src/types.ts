import type { CloudEvent } from 'cloudevents';
import type { Logger } from 'pino';
import type { ZodType } from 'zod';

/**
 * What a handler receives besides the event: the Knative Functions (faas-js-runtime) context shape.
 */
export interface Context {
  /** Logger scoped to this invocation (pino; `info`, `warn`, `error`, ...). */
  log: Logger;
  /** HTTP request headers, lower-cased. */
  headers: Record<string, string | string[] | undefined>;
  method: string;
  query: Record<string, unknown>;
  /** The parsed request body (the event data for binary mode). */
  body: unknown;
  /** The incoming event (same object as the handler's second argument). */
  cloudevent: CloudEvent<unknown>;
  /** Name of the function, from its service.yaml / FUNCTION_NAME. */
  functionName: string;
}

/** What a handler may return: a CloudEvent to reply with (200, binary mode), or nothing (204). */
// biome-ignore lint/suspicious/noConfusingVoidType: a handler that returns nothing is typed `void`
export type HandleResult = CloudEvent<unknown> | undefined | null | void;

export type Handle<T = unknown> = (
  context: Context,
  event: CloudEvent<T>,
) => HandleResult | Promise<HandleResult>;

/** A function module: `export async function handle(context, event) {}` plus optional hooks. */
export interface FunctionModule<T = unknown> {
  handle: Handle<T>;
  /** Called once before the first event is accepted. */
  init?: () => unknown | Promise<unknown>;
  /** Called after in-flight events drained at shutdown. */
  shutdown?: () => unknown | Promise<unknown>;
  /** zod schema of the event `data`; events that fail it get 400 with the issues. */
  schema?: ZodType<T>;
}
