// The header's source pills and the alerts strip (slot warnings, sources down or starting).
import type { Snapshot, SourceStatus } from '../../views/types.js';
import { byId, h } from '../dom.js';

/** A component by its own name: "broker", "db-events", or the name of any other (storage-events, auth-hooks). */
export function sourceLabel(src: SourceStatus): string {
  return src.kind === 'other' ? src.name : src.kind;
}

export function renderSources(s: Snapshot): void {
  byId('sources').replaceChildren(
    ...s.sources.map((src) =>
      h(
        'span',
        {
          class: `pill ${src.ok ? 'ok' : src.starting ? 'info' : 'bad'}`,
          title: src.starting ?? src.error ?? 'scraped',
        },
        `${sourceLabel(src)}: ${src.ok ? 'up' : src.starting ? 'starting' : 'down'}`,
      ),
    ),
  );
}

export function renderAlerts(s: Snapshot): void {
  const alerts: [string, string][] = [];
  for (const slot of s.slots)
    for (const w of slot.warnings) alerts.push([slot.level, `Replication slot (${slot.source}): ${w}`]);
  for (const src of s.sources)
    if (src.starting) alerts.push(['info', src.starting]);
    else if (!src.ok)
      alerts.push([
        'warning',
        `Cannot read ${sourceLabel(src)}${src.kind === 'other' ? '' : ` (${src.name})`}: ${src.error ?? 'unreachable'}`,
      ]);
  byId('alerts').replaceChildren(
    ...alerts.map(([level, text]) => h('div', { class: `alert ${level}` }, text)),
  );
}
