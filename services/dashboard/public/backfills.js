// The backfills panel: db-events' table backfills with their progress, and Cancel for those still running.
// Plain module, loaded after app.js; it talks to /api/backfills with the page's session (cookie or local).
const panel = document.querySelector('[data-testid="backfills"]');
const body = panel?.querySelector('tbody');
const note = panel?.querySelector('[data-role="note"]');

function cell(text) {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

function progress(b) {
  const total = b.totalEstimate && b.totalEstimate > 0 ? Math.max(b.totalEstimate, b.rowsDone) : undefined;
  const pct = b.state === 'completed' ? 100 : total ? Math.floor((b.rowsDone / total) * 100) : undefined;
  const rows = `${b.rowsDone.toLocaleString()}${total ? ` / ~${total.toLocaleString()}` : ''} rows`;
  return pct === undefined ? rows : `${pct}% · ${rows}`;
}

async function cancel(id, button) {
  if (!confirm(`Cancel backfill ${id}? The chunk being read may still be emitted.`)) return;
  button.disabled = true;
  const res = await fetch(`/api/backfills/${encodeURIComponent(id)}/cancel`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  if (!res.ok) {
    const err = await res.json().catch(() => ({}));
    alert(`Cancel failed: ${err.message ?? res.status}`);
  }
  await refresh();
}

async function refresh() {
  if (!body) return;
  const res = await fetch('/api/backfills');
  if (!res.ok) return;
  const { available, backfills } = await res.json();
  if (note) {
    note.textContent = available
      ? backfills.length === 0
        ? 'No backfills yet. Start one with `tributary backfill <schema.table>` or SELECT tributary.backfill(...).'
        : ''
      : 'db-events has not created its schema in this database (or the dashboard has no DATABASE_URL).';
  }
  body.replaceChildren(
    ...backfills.map((b) => {
      const tr = document.createElement('tr');
      tr.dataset.state = b.state;
      tr.append(
        cell(b.id),
        cell(b.table),
        cell(b.state),
        cell(progress(b)),
        cell(b.events.toLocaleString()),
        cell(b.error ?? b.where ?? ''),
      );
      const actions = document.createElement('td');
      if (b.state === 'pending' || b.state === 'running') {
        const button = document.createElement('button');
        button.textContent = 'Cancel';
        button.addEventListener('click', () => void cancel(b.id, button));
        actions.append(button);
      }
      tr.append(actions);
      return tr;
    }),
  );
}

if (panel) {
  void refresh();
  setInterval(() => void refresh(), 2000);
}
