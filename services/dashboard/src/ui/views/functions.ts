// Functions: scale (0, 1 or N of max), in flight, cold starts and their p50.
import type { Snapshot } from '../../views/types.js';
import { byId, emptyRow, h } from '../dom.js';
import { fmtDuration, fmtInt } from '../format.js';

export function renderFunctions(s: Snapshot): void {
  const body = byId('functions');
  if (s.functions.length === 0) {
    body.replaceChildren(emptyRow(5, 'No function.'));
    return;
  }
  body.replaceChildren(
    ...s.functions.map((f) =>
      h(
        'tr',
        { dataset: { function: `${f.namespace}/${f.name}` } },
        h('td', {}, h('strong', {}, f.name), h('div', { class: 'sub' }, f.namespace)),
        h(
          'td',
          {},
          h(
            'span',
            { class: 'scale', title: `min ${f.minScale ?? 0}, max ${f.maxScale ?? '∞'}` },
            h('span', { class: `dot ${f.scale > 0 ? 'up' : ''}` }),
            h('span', { class: 'n', 'data-testid': 'scale' }, f.scale),
            h('span', { class: 'sub' }, f.scale === 0 ? 'scaled to zero' : `of max ${f.maxScale || '∞'}`),
          ),
        ),
        h('td', { class: 'num' }, f.inFlight ?? '–'),
        h('td', { class: 'num' }, fmtInt(f.coldStarts)),
        h('td', { class: 'num' }, fmtDuration(f.coldStartP50)),
      ),
    ),
  );
}
