import { baseEnvShape, parseEnv } from '@tributary/shared';
import { z } from 'zod';

export const runtimeEnvSchema = z.object({
  ...baseEnvShape,
  /** Path of the function module (its src/index.ts under tsx, or dist/index.js). */
  FUNCTION_PATH: z.string().min(1),
  /** Name used in logs and metrics; defaults to the module's folder name. */
  FUNCTION_NAME: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'lowercase DNS label')
    .optional(),
  /** Host to bind (the local runtime binds 127.0.0.1; a container binds 0.0.0.0). */
  HOST: z.string().default('0.0.0.0'),
  /**
   * Set by the local serving layer: when it asked for this instance (epoch milliseconds). The cold start
   * is measured from here, so the activator and the function report the same figure.
   */
  TRIBUTARY_COLD_START_AT: z.coerce.number().positive().optional(),
});

export type RuntimeEnv = z.output<typeof runtimeEnvSchema>;

export function loadEnv(env: Record<string, string | undefined> = process.env): RuntimeEnv {
  return parseEnv(runtimeEnvSchema, env);
}
