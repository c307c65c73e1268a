import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { NonRetriableError } from '@tributary/shared';
import type { FunctionModule } from './types.js';

/**
 * Imports a function module by file path and checks its shape. Accepts named exports
 * (`export function handle`) or a default export object `{ handle, init?, shutdown?, schema? }`.
 */
export async function loadFunction(path: string): Promise<FunctionModule> {
  const mod = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  const candidate = (typeof mod.handle === 'function' ? mod : mod.default) as
    | Partial<FunctionModule>
    | undefined;
  if (!candidate || typeof candidate.handle !== 'function') {
    throw new NonRetriableError(`${path} does not export a handle(context, event) function`, {
      code: 'FUNCTION_BAD_EXPORT',
    });
  }
  for (const hook of ['init', 'shutdown'] as const) {
    if (candidate[hook] !== undefined && typeof candidate[hook] !== 'function') {
      throw new NonRetriableError(`${path}: export "${hook}" must be a function`, {
        code: 'FUNCTION_BAD_EXPORT',
      });
    }
  }
  if (
    candidate.schema !== undefined &&
    typeof (candidate.schema as { safeParse?: unknown }).safeParse !== 'function'
  ) {
    throw new NonRetriableError(`${path}: export "schema" must be a zod schema`, {
      code: 'FUNCTION_BAD_EXPORT',
    });
  }
  return candidate as FunctionModule;
}
