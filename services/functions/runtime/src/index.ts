// Errors a function throws: NonRetriableError (4xx, no retry) or a TributaryError with a catalogue code.
export { NonRetriableError, TributaryError } from '@tributary/shared';
export { createFunctionHost, type FunctionHostOptions } from './host.js';
export { loadFunction } from './load.js';
export type { Context, FunctionModule, Handle, HandleResult } from './types.js';
