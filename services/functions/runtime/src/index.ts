export { NonRetriableError } from '@tributary/shared';
export { createFunctionHost, type FunctionHostOptions } from './host.js';
export { loadFunction } from './load.js';
export type { Context, FunctionModule, Handle, HandleResult } from './types.js';
