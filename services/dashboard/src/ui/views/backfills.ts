// The backfills panel: db-events' table backfills with their progress, and Cancel for those still pending or
// running (after a confirmation). It polls /api/backfills with the page's session; the server checks the
// operator and the origin, and audit-logs every cancel (src/backfills.ts).
import { api, errorMessage } from '../api.js';
import { byId, h } from '../dom.js';
import type { BackfillCancelled, BackfillList, BackfillView } from '../wire.js';

/** How often the panel reads the list again. */
const REFRESH_MS = 2000;

/** `42% · 4,200 / ~10,000 rows`; the estimate never shows below the rows already done. */
export function backfillProgress(b: BackfillView): string {
  const total =
    b.totalEstimate !== null && b.totalEstimate > 0 ? Math.max(b.totalEstimate, b.rowsDone) : undefined;
  const pct =
    b.state === 'completed' ? 100 : total !== undefined ? Math.floor((b.rowsDone / total) * 100) : undefined;
  const rows = `${b.rowsDone.toLocaleString()}${total !== undefined ? ` / ~${total.toLocaleString()}` : ''} rows`;
  return pct === undefined ? rows : `${pct}% · ${rows}`;
}

function note(list: BackfillList): string {
  if (!list.available)
    return 'db-events has not created its schema in this database (or the dashboard has no DATABASE_URL).';
  return list.backfills.length === 0
    ? 'No backfills yet. Start one with `tributary backfill <schema.table>` or SELECT tributary.backfill(...).'
    : '';
}

async function cancel(id: string, button: HTMLButtonElement): Promise<void> {
  if (!window.confirm(`Cancel backfill ${id}? The chunk being read may still be emitted.`)) return;
  button.disabled = true;
  try {
    await api<BackfillCancelled>('POST', `/api/backfills/${encodeURIComponent(id)}/cancel`);
  } catch (err) {
    window.alert(`Cancel failed: ${errorMessage(err)}`);
  }
  await refreshBackfills();
}

function row(b: BackfillView): HTMLTableRowElement {
  const active = b.state === 'pending' || b.state === 'running';
  const button = active ? h('button', { type: 'button' }, 'Cancel') : undefined;
  button?.addEventListener('click', () => void cancel(b.id, button));
  return h(
    'tr',
    { dataset: { state: b.state } },
    h('td', {}, b.id),
    h('td', {}, b.table),
    h('td', {}, b.state),
    h('td', {}, backfillProgress(b)),
    h('td', { class: 'num' }, b.events.toLocaleString()),
    h('td', {}, b.error ?? b.where ?? ''),
    h('td', {}, button),
  );
}

/** Reads the list once and renders it; a failed read leaves the last one and says why. */
export async function refreshBackfills(): Promise<void> {
  const noteEl = byId('backfills-note');
  let list: BackfillList;
  try {
    list = await api<BackfillList>('GET', '/api/backfills');
  } catch (err) {
    noteEl.textContent = `Backfills unavailable: ${errorMessage(err)}`;
    return;
  }
  noteEl.textContent = note(list);
  byId('backfills-body').replaceChildren(...list.backfills.map(row));
}

/** Loads the panel and keeps it current (once, after sign-in). */
export function initBackfills(): void {
  void refreshBackfills();
  setInterval(() => void refreshBackfills(), REFRESH_MS);
}
