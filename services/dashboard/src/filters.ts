import type { FilterSpec } from '@tributary/eventing';

/** A Trigger's filter as one readable line, e.g. `type = "a" AND cesql(source LIKE '/db/%')`. */
export function describeFilter(spec: {
  filter?: { attributes?: Record<string, string> } | undefined;
  filters?: FilterSpec[] | undefined;
}): string {
  const parts: string[] = [];
  const attrs = spec.filter?.attributes ?? {};
  for (const [k, v] of Object.entries(attrs))
    parts.push(v === '' ? `${k} exists` : `${k} = ${JSON.stringify(v)}`);
  for (const f of spec.filters ?? []) parts.push(describeDialect(f));
  return parts.length === 0 ? 'all events' : parts.join(' AND ');
}

function describeDialect(f: FilterSpec): string {
  const d = f as Record<string, unknown>;
  if (typeof d.cesql === 'string') return `cesql(${d.cesql})`;
  for (const [op, word] of [
    ['exact', '='],
    ['prefix', 'starts with'],
    ['suffix', 'ends with'],
  ] as const) {
    const m = d[op] as Record<string, string> | undefined;
    if (m) {
      return Object.entries(m)
        .map(([k, v]) => `${k} ${word} ${JSON.stringify(v)}`)
        .join(' AND ');
    }
  }
  if (Array.isArray(d.all)) return `(${(d.all as FilterSpec[]).map(describeDialect).join(' AND ')})`;
  if (Array.isArray(d.any)) return `(${(d.any as FilterSpec[]).map(describeDialect).join(' OR ')})`;
  if (d.not) return `NOT ${describeDialect(d.not as FilterSpec)}`;
  return JSON.stringify(d);
}
