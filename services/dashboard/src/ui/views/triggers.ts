// Triggers: filter, subscriber, rates, totals, latency, lag with a trend sparkline.
import type { Snapshot, TriggerView } from '../../views/types.js';
import { byId, emptyRow, h, svg } from '../dom.js';
import { fmtDuration, fmtInt, fmtRate } from '../format.js';

/** A sparkline of lag events (line) with lag seconds as a faint area, scaled to their own maxima. */
export function sparkline(points: TriggerView['lagHistory']): SVGElement {
  const w = 120;
  const hgt = 28;
  const s = svg('svg', { width: w, height: hgt, viewBox: `0 0 ${w} ${hgt}`, class: 'spark' });
  const first = points[0];
  const last = points.at(-1);
  if (!first || !last || points.length < 2) {
    s.append(svg('line', { x1: 0, y1: hgt - 1, x2: w, y2: hgt - 1, stroke: '#2a3541' }));
    return s;
  }
  const maxE = Math.max(1, ...points.map((p) => p[1]));
  const maxS = Math.max(1, ...points.map((p) => p[2]));
  const x = (i: number) => (i / (points.length - 1)) * (w - 2) + 1;
  const yE = (v: number) => hgt - 2 - (v / maxE) * (hgt - 4);
  const yS = (v: number) => hgt - 1 - (v / maxS) * (hgt - 4);
  const area = `M1,${hgt - 1} ${points.map((p, i) => `L${x(i).toFixed(1)},${yS(p[2]).toFixed(1)}`).join(' ')} L${w - 1},${hgt - 1} Z`;
  s.append(svg('path', { d: area, fill: 'rgba(224,168,58,0.18)', stroke: 'none' }));
  const line = points
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${yE(p[1]).toFixed(1)}`)
    .join(' ');
  const growing = last[1] > first[1];
  s.append(
    svg('path', { d: line, fill: 'none', stroke: growing ? '#e5534b' : '#3fb6d3', 'stroke-width': 1.5 }),
  );
  const title = svg('title', {});
  title.textContent = `lag: ${last[1]} events, ${fmtDuration(last[2])} (last ${points.length} samples)`;
  s.append(title);
  return s;
}

export function renderTriggers(s: Snapshot): void {
  const body = byId('triggers');
  if (s.triggers.length === 0) {
    body.replaceChildren(emptyRow(10, 'No trigger yet.'));
    return;
  }
  body.replaceChildren(
    ...s.triggers.map((t) =>
      h(
        'tr',
        { dataset: { trigger: `${t.namespace}/${t.name}` } },
        h(
          'td',
          {},
          h(
            'div',
            {},
            t.ready === false ? h('span', { class: 'pill bad', title: t.reason ?? '' }, 'not ready') : null,
            ' ',
            h('strong', {}, t.name),
          ),
          h(
            'div',
            { class: 'sub' },
            `${t.namespace} · ${t.broker}`,
            t.subscriber ? ` → ${t.subscriber}` : '',
          ),
        ),
        h('td', { class: 'filter' }, t.filter || '–'),
        h('td', { class: `num ${t.deliveredRate ? '' : 'zero'}` }, fmtRate(t.deliveredRate)),
        h('td', { class: `num ${t.failedRate ? 'rate-bad' : 'zero'}` }, fmtRate(t.failedRate)),
        h('td', { class: `num ${t.retryRate ? 'rate-warn' : 'zero'}` }, fmtRate(t.retryRate)),
        h(
          'td',
          { class: 'num', 'data-testid': 'trigger-totals' },
          h('span', { 'data-testid': 'delivered' }, fmtInt(t.delivered)),
          ' / ',
          h('span', { class: t.failed ? 'rate-bad' : '' }, fmtInt(t.failed)),
          ' / ',
          h('span', { class: t.deadLettered ? 'rate-warn' : '' }, fmtInt(t.deadLettered)),
        ),
        h('td', { class: 'num' }, fmtDuration(t.p50)),
        h('td', { class: 'num' }, fmtDuration(t.p99)),
        h(
          'td',
          { class: 'num' },
          h('div', {}, `${fmtInt(t.lagEvents)} ev`),
          h('div', { class: 'sub' }, fmtDuration(t.lagSeconds)),
        ),
        h('td', {}, sparkline(t.lagHistory)),
      ),
    ),
  );
}
