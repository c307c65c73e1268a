import { catalog, EVENT_TYPE_PREFIX, EVENT_TYPES } from '@tributary/shared';

/** CloudEvents 1.0 context attributes (spec §3.1, §3.2). */
export const CONTEXT_ATTRIBUTES = [
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'dataschema',
] as const;

/**
 * Extensions Tributary's sources set (DESIGN.md §3), Knative's (`knative*`, matched by prefix too) and
 * the documented CloudEvents extensions a Trigger may reasonably filter on.
 */
export const KNOWN_EXTENSIONS = [
  // db-events
  'schema',
  'table',
  'lsn',
  'txid',
  'partitionkey',
  // storage-events
  'bucket',
  's3eventname',
  // Knative
  'knativebrokerttl',
  'knativeerrordest',
  'knativeerrorcode',
  'knativeerrordata',
  // CloudEvents documented extensions
  'traceparent',
  'tracestate',
  'dataref',
  'sequence',
  'sampledrate',
  'authtype',
  'authid',
  'expirytime',
  'recordedtime',
] as const;

export type Warn = (path: string, message: string) => void;

/** One `spec.filters` entry: exact/prefix/suffix maps, all/any lists, not, cesql (not inspected). */
export function checkFilter(filter: unknown, path: string, warn: Warn): void {
  if (!filter || typeof filter !== 'object') return;
  for (const [dialect, body] of Object.entries(filter as Record<string, unknown>)) {
    const at = `${path}.${dialect}`;
    if (dialect === 'exact' || dialect === 'prefix' || dialect === 'suffix') {
      if (body && typeof body === 'object')
        checkAttributeMap(body as Record<string, unknown>, at, dialect, warn);
    } else if ((dialect === 'all' || dialect === 'any') && Array.isArray(body)) {
      for (const [i, f] of body.entries()) checkFilter(f, `${at}[${i}]`, warn);
    } else if (dialect === 'not') {
      checkFilter(body, at, warn);
    }
    // cesql: @tributary/eventing does not expose the parsed expression, so its attributes are not checked.
  }
}

export function checkAttributeMap(
  map: Record<string, unknown>,
  path: string,
  dialect: 'exact' | 'prefix' | 'suffix',
  warn: Warn,
): void {
  for (const [name, value] of Object.entries(map)) {
    const at = `${path}.${name}`;
    const attr = checkAttributeName(name);
    if (attr) warn(at, attr);
    if (name === 'type' && typeof value === 'string') {
      const t = checkEventType(value, dialect);
      if (t) warn(at, t);
    }
  }
}

/** A warning when `name` is neither a CloudEvents context attribute nor a known extension. */
export function checkAttributeName(name: string): string | undefined {
  const known: readonly string[] = [...CONTEXT_ATTRIBUTES, ...KNOWN_EXTENSIONS];
  if (known.includes(name) || name.startsWith('knative')) return undefined;
  const near = nearest(name, known);
  return near
    ? `attribute "${name}" is not a CloudEvents attribute nor a known extension: did you mean "${near}"?`
    : `attribute "${name}" is not a CloudEvents attribute nor a known extension (fine if your events carry this custom extension)`;
}

/** Every event type the catalog knows: DESIGN.md §3 types and any registered schema. */
export function knownEventTypes(): string[] {
  return [...new Set<string>([...Object.values(EVENT_TYPES), ...catalog.types()])].sort();
}

/** Application events (e.g. on-user-created's `dev.tributary.app.welcome.requested`) are not in the catalog. */
const APP_TYPE_PREFIX = `${EVENT_TYPE_PREFIX}app.`;

/**
 * A warning when a filter on `type` cannot match a catalog type: an exact type that is close to a catalog
 * type (a likely typo) or under `dev.tributary.` (except the `dev.tributary.app.` namespace of application
 * events) but not in the catalog, or a `dev.tributary.` prefix no catalog type starts with. Other types are
 * the application's own.
 */
export function checkEventType(value: string, dialect: 'exact' | 'prefix' | 'suffix'): string | undefined {
  if (value === '') return undefined; // Knative: an empty value matches any (Kafka broker semantics)
  const types = knownEventTypes();
  if (dialect === 'suffix') return undefined;
  if (dialect === 'prefix') {
    if (!value.startsWith(EVENT_TYPE_PREFIX) || value.startsWith(APP_TYPE_PREFIX)) return undefined;
    if (types.some((t) => t.startsWith(value))) return undefined;
    const near = nearest(value, [
      ...new Set(
        types.flatMap((t) => t.split('.').map((_, i, parts) => `${parts.slice(0, i + 1).join('.')}.`)),
      ),
    ]);
    return `no known event type starts with "${value}"${near ? `: did you mean "${near}"?` : ''}`;
  }
  if (types.includes(value)) return undefined;
  const near = nearest(value, types);
  if (!near && (!value.startsWith(EVENT_TYPE_PREFIX) || value.startsWith(APP_TYPE_PREFIX))) return undefined;
  return `type "${value}" is not in the event catalog${near ? `: did you mean "${near}"?` : ''}`;
}

/**
 * The candidate closest to `word` by Damerau-Levenshtein distance (optimal string alignment: an adjacent
 * transposition counts as one edit), when it is close enough to be a typo: at most 1 edit for words of up
 * to 4 characters, 2 up to 12, then a sixth of the length.
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const limit = word.length <= 4 ? 1 : word.length <= 12 ? 2 : Math.floor(word.length / 6);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    if (c === word) continue;
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** Damerau-Levenshtein distance, optimal string alignment variant. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i]!;
      const prev = d[i - 1]!;
      let v = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      row[j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
