// Brokers: ingress rate, accepted total, rejections by status code.
import type { Snapshot } from '../../views/types.js';
import { byId, h } from '../dom.js';
import { fmtInt, fmtRate } from '../format.js';

export function renderBrokers(s: Snapshot): void {
  const el = byId('brokers');
  if (s.brokers.length === 0) {
    el.replaceChildren(h('p', { class: 'empty' }, 'No broker yet.'));
    return;
  }
  el.replaceChildren(
    ...s.brokers.map((b) =>
      h(
        'div',
        { class: 'card', dataset: { broker: `${b.namespace}/${b.name}` } },
        h('h3', {}, b.name, ' ', h('span', { class: 'muted' }, b.namespace)),
        h(
          'div',
          { class: 'metric-row' },
          h(
            'div',
            {},
            h('span', { class: 'big', 'data-testid': 'ingress-rate' }, fmtRate(b.ingressRate)),
            h('span', { class: 'unit' }, 'events/s in'),
          ),
          h(
            'div',
            {},
            h('span', { class: 'big', 'data-testid': 'ingress-accepted' }, fmtInt(b.accepted)),
            h('span', { class: 'unit' }, 'accepted'),
          ),
        ),
        h(
          'div',
          { class: 'codes' },
          b.rejections.length === 0
            ? h('span', { class: 'sub' }, 'no rejections')
            : b.rejections.map((r) =>
                h(
                  'span',
                  {
                    class: `pill ${r.statusCode.startsWith('5') ? 'bad' : 'stale'}`,
                    title: `${fmtRate(r.rate)}/s`,
                  },
                  `${r.statusCode} × ${fmtInt(r.total)}`,
                ),
              ),
        ),
      ),
    ),
  );
}
