// Replication slot health (db-events): lag, wal_status, safe_wal_size, warnings.
import type { Snapshot } from '../../views/types.js';
import { byId, h } from '../dom.js';
import { fmtBytes, fmtDuration } from '../format.js';

export function renderSlots(s: Snapshot): void {
  const el = byId('slots');
  if (s.slots.length === 0) {
    el.replaceChildren(h('p', { class: 'empty' }, 'No db-events source configured.'));
    return;
  }
  el.replaceChildren(
    ...s.slots.map((slot) =>
      h(
        'div',
        {},
        h(
          'div',
          { class: 'sub' },
          slot.source,
          ' ',
          h('span', { class: `pill ${slot.level}` }, slot.level === 'ok' ? 'healthy' : slot.level),
        ),
        h(
          'div',
          { class: 'slot' },
          h(
            'div',
            {},
            h('div', { class: 'k' }, 'lag'),
            h('div', { class: 'v' }, fmtBytes(slot.lagBytes)),
            h('div', { class: 'sub' }, fmtDuration(slot.lagSeconds)),
          ),
          h(
            'div',
            {},
            h('div', { class: 'k' }, 'wal_status'),
            h('div', { class: 'v' }, slot.walStatus ?? '–'),
          ),
          h(
            'div',
            {},
            h('div', { class: 'k' }, 'safe_wal_size'),
            h('div', { class: 'v' }, slot.safeWalSize === null ? 'unlimited' : fmtBytes(slot.safeWalSize)),
          ),
        ),
        slot.warnings.map((w) => h('div', { class: `alert ${slot.level}` }, w)),
      ),
    ),
  );
}
