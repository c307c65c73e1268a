// The Tributary ops dashboard page, built by esbuild (build-ui.mjs) into one script (`/app.js`). Snapshots
// arrive over Server-Sent Events (/api/stream) and every view renders its part; the live tail is a second SSE
// stream (/api/tail); dead letters use the JSON API. To add a view: a module under views/ that renders from
// the snapshot (its data: a field of `Snapshot` in src/views/types.ts, built by a module of src/views/), added
// to VIEWS below, and its element in public/index.html.
import type { Snapshot } from '../views/types.js';
import { byId, h } from './dom.js';
import { fmtTime } from './format.js';
import { showSignIn } from './signin.js';
import { initBackfills } from './views/backfills.js';
import { renderBrokers } from './views/brokers.js';
import { initDeadLetters, loadDeadLetters, renderDeadLetterCount } from './views/dead-letters.js';
import { renderFunctions } from './views/functions.js';
import { initReplay } from './views/replay.js';
import { renderSlots } from './views/slots.js';
import { renderAlerts, renderSources } from './views/status.js';
import { initTail } from './views/tail.js';
import { renderTriggers } from './views/triggers.js';

/** Everything a snapshot updates, in page order. */
const VIEWS: ((s: Snapshot) => void)[] = [
  renderSources,
  renderAlerts,
  renderBrokers,
  renderTriggers,
  renderFunctions,
  renderSlots,
  (s) => brokerOptions(byId<HTMLSelectElement>('dl-broker'), s, true),
  (s) => brokerOptions(byId<HTMLSelectElement>('tail-broker'), s, false),
  renderDeadLetterCount,
];

/** The brokers to choose from (those with dead letters too); `all` adds "all brokers". */
function brokerOptions(select: HTMLSelectElement, s: Snapshot, all: boolean): void {
  const current = select.value;
  const names = new Set(s.brokers.map((b) => `${b.namespace}/${b.name}`));
  for (const d of s.deadLetters ?? []) names.add(`${d.namespace}/${d.broker}`);
  const list = [...names].sort();
  const wanted = all ? ['', ...list] : list;
  const existing = [...select.options].map((o) => o.value);
  if (existing.join('|') === wanted.join('|')) return;
  select.replaceChildren(...wanted.map((n) => h('option', { value: n }, n === '' ? 'all brokers' : n)));
  if (wanted.includes(current)) select.value = current;
}

function render(s: Snapshot): void {
  byId('updated').textContent = `updated ${fmtTime(new Date(s.at).toISOString())}`;
  for (const view of VIEWS) view(s);
}

function connect(): void {
  const live = byId('live');
  const es = new EventSource('/api/stream');
  es.addEventListener('open', () => {
    live.textContent = 'live';
    live.className = 'pill live';
  });
  es.addEventListener('snapshot', (e) => render(JSON.parse((e as MessageEvent<string>).data) as Snapshot));
  es.addEventListener('error', () => {
    live.textContent = 'reconnecting…';
    live.className = 'pill stale';
  });
}

async function start(): Promise<void> {
  const res = await fetch('/api/session');
  if (res.status === 401) {
    showSignIn(((await res.json().catch(() => ({}))) as { message?: string }).message);
    return;
  }
  initDeadLetters();
  initTail();
  void initReplay();
  initBackfills();
  connect();
  void loadDeadLetters();
}

void start();
