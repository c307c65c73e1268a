/**
 * Secret fields of event data: one-time codes, token hashes, anything that grants access to whoever reads
 * it. The catalog marks them on the schema with {@link secret}; viewers (the dashboard's live tail and
 * dead-letter pages) replace their values with {@link REDACTED} unless an operator asks to see them.
 */
import { z } from 'zod';

/** What a redacted value reads as. */
export const REDACTED = '[redacted]';

/** Marks a field of a `data` schema as secret: `token: secret(z.string()).optional()`. */
export function secret<T extends z.ZodType>(schema: T): T {
  return schema.meta({ secret: true }) as T;
}

function isSecret(schema: z.ZodType): boolean {
  return (z.globalRegistry.get(schema) as { secret?: unknown } | undefined)?.secret === true;
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'readonly', 'catch', 'nonoptional', 'prefault']);

/** The paths (e.g. `["email_data", "token"]`) of the fields `schema` marks secret, through nested objects. */
export function secretPaths(schema: z.ZodType, prefix: string[] = []): string[][] {
  let s = schema;
  for (;;) {
    if (isSecret(s)) return [prefix];
    const def = s._zod.def as { type: string; innerType?: z.ZodType };
    if (!WRAPPERS.has(def.type) || !def.innerType) break;
    s = def.innerType;
  }
  if (!(s instanceof z.ZodObject)) return [];
  const out: string[][] = [];
  for (const [key, field] of Object.entries(s.shape as Record<string, z.ZodType>)) {
    out.push(...secretPaths(field, [...prefix, key]));
  }
  return out;
}

/**
 * A copy of `data` with the values at `paths` replaced by {@link REDACTED} (absent fields stay absent), and
 * how many it replaced. `data` itself is not changed.
 */
export function redactPaths(data: unknown, paths: readonly string[][]): { data: unknown; redacted: number } {
  if (paths.length === 0 || data === null || typeof data !== 'object') return { data, redacted: 0 };
  const copy = structuredClone(data) as Record<string, unknown>;
  let redacted = 0;
  for (const path of paths) {
    let node: unknown = copy;
    for (let i = 0; i < path.length - 1 && node && typeof node === 'object'; i++) {
      node = (node as Record<string, unknown>)[path[i]!];
    }
    const last = path[path.length - 1]!;
    if (node && typeof node === 'object' && !Array.isArray(node) && Object.hasOwn(node, last)) {
      const holder = node as Record<string, unknown>;
      if (holder[last] !== undefined && holder[last] !== null) {
        holder[last] = REDACTED;
        redacted++;
      }
    }
  }
  return { data: copy, redacted };
}
