// View "dead letters": per broker, pending and total, from the dashboard's own store (Postgres) and from
// what the metrics source counts itself (a KafkaSink seen through Prometheus), added.
import { byKey } from './series.js';
import type { DeadLetterCount } from './types.js';

export function deadLettersView(
  store: DeadLetterCount[] | null,
  fromMetrics: DeadLetterCount[] | null,
): DeadLetterCount[] | null {
  if (!store && !fromMetrics) return null;
  const out = new Map<string, DeadLetterCount>();
  for (const d of [...(store ?? []), ...(fromMetrics ?? [])]) {
    const key = `${d.namespace}/${d.broker}`;
    const m = out.get(key);
    if (m) out.set(key, { ...m, pending: m.pending + d.pending, total: m.total + d.total });
    else out.set(key, { ...d });
  }
  return [...out.values()].sort(byKey((d) => `${d.namespace}/${d.broker}`));
}
