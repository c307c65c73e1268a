// View "brokers": ingress throughput (accepted events/s and total) and rejections by status code.
import { INGRESS_METRICS } from '@tributary/eventing';
import { byKey, label, type Match, rate, type ScrapeWindow, total } from './series.js';
import type { BrokerView } from './types.js';

const INGRESS = INGRESS_METRICS.events;

export function emptyBrokerView(namespace: string, name: string): BrokerView {
  return { namespace, name, ingressRate: 0, accepted: 0, rejections: [] };
}

/** One-machine mode: the brokers' `tributary_broker_ingress_events_total` (202 = accepted). */
export function scrapedBrokers(windows: readonly ScrapeWindow[]): BrokerView[] {
  const views = new Map<string, BrokerView>();
  const view = (namespace: string, name: string) => {
    const key = `${namespace}/${name}`;
    let v = views.get(key);
    if (!v) {
      v = emptyBrokerView(namespace, name);
      views.set(key, v);
    }
    return v;
  };
  for (const w of windows) {
    const codes = new Map<string, Set<string>>();
    for (const s of w.now.samples) {
      if (s.name !== INGRESS.name) continue;
      const namespace = label(s, INGRESS, 'namespace') ?? '';
      const broker = label(s, INGRESS, 'broker') ?? '';
      const key = `${namespace}/${broker}`;
      view(namespace, broker);
      const set = codes.get(key) ?? new Set<string>();
      set.add(label(s, INGRESS, 'status_code') ?? '');
      codes.set(key, set);
    }
    for (const [key, set] of codes) {
      const [namespace = '', name = ''] = key.split('/');
      const v = view(namespace, name);
      for (const code of set) {
        const match = { namespace, broker: name, status_code: code } satisfies Match<typeof INGRESS>;
        const sum = total(w.now, INGRESS, match);
        const perSecond = rate(w, INGRESS, match);
        if (code === '202') {
          v.accepted += sum;
          v.ingressRate += perSecond;
        } else {
          const r = v.rejections.find((x) => x.statusCode === code);
          if (r) {
            r.total += sum;
            r.rate += perSecond;
          } else v.rejections.push({ statusCode: code, total: sum, rate: perSecond });
        }
      }
      v.rejections.sort((a, b) => a.statusCode.localeCompare(b.statusCode));
    }
  }
  return [...views.values()];
}

/** The source's brokers, plus those the YAML or the Kubernetes API knows (listed even without traffic). */
export function brokersView(
  fromMetrics: readonly BrokerView[],
  known: readonly { namespace: string; name: string }[],
): BrokerView[] {
  const views = new Map<string, BrokerView>();
  for (const b of known) views.set(`${b.namespace}/${b.name}`, emptyBrokerView(b.namespace, b.name));
  for (const b of fromMetrics) views.set(`${b.namespace}/${b.name}`, b);
  return [...views.values()].sort(byKey((b) => `${b.namespace}/${b.name}`));
}
