// Live tail: a broker's events as they arrive (SSE /api/tail), with a CESQL filter checked first.
import { byId, h } from '../dom.js';
import { fmtTime } from '../format.js';
import type { TailEvent } from '../wire.js';

const TAIL_MAX = 200;
let tail: EventSource | null = null;

function state(text: string): void {
  byId('tail-state').textContent = text;
}

function stopTail(reason?: string): void {
  tail?.close();
  tail = null;
  byId('tail-start').textContent = 'Start';
  byId<HTMLButtonElement>('tail-stop').disabled = true;
  state(reason ?? 'Stopped.');
}

async function startTail(e: Event): Promise<void> {
  e.preventDefault();
  stopTail();
  const filter = byId<HTMLInputElement>('tail-filter').value.trim();
  const errEl = byId('tail-error');
  errEl.hidden = true;
  const check = await fetch(`/api/cesql?${new URLSearchParams({ filter })}`);
  if (!check.ok) {
    const body = (await check.json()) as { message?: string; excerpt?: string };
    errEl.textContent = `${body.message}\n\n${body.excerpt ?? ''}`;
    errEl.hidden = false;
    state('Fix the filter to start the tail.');
    return;
  }
  const b = byId<HTMLSelectElement>('tail-broker').value;
  if (!b) {
    state('No broker to tail.');
    return;
  }
  const [namespace = '', broker = ''] = b.split('/');
  const q = new URLSearchParams({ namespace, broker });
  if (filter) q.set('filter', filter);
  const es = new EventSource(`/api/tail?${q}`);
  tail = es;
  // Start stays enabled: pressing it again applies a changed filter.
  byId('tail-start').textContent = 'Restart';
  byId<HTMLButtonElement>('tail-stop').disabled = false;
  state('Connecting…');
  let count = 0;
  const where = filter ? ` where ${filter}` : '';
  es.addEventListener('ready', () => state(`Tailing ${b}${where} — waiting for events…`));
  es.addEventListener('cloudevent', (m) => {
    count++;
    addTailEvent(JSON.parse((m as MessageEvent<string>).data) as TailEvent);
    state(`Tailing ${b}${where} — ${count} event(s)`);
  });
  es.addEventListener('skipped', (m) => {
    const { count: n } = JSON.parse((m as MessageEvent<string>).data) as { count: number };
    byId('tail').prepend(h('li', { class: 'sub' }, `… ${n} event(s) skipped (rate limit)`));
  });
  es.addEventListener('tail-error', (m) =>
    stopTail(`Tail failed: ${(JSON.parse((m as MessageEvent<string>).data) as { message: string }).message}`),
  );
  es.addEventListener('error', () => {
    if (tail === es && es.readyState === EventSource.CLOSED) stopTail('Tail closed by the server.');
    else if (tail === es) state('Reconnecting…');
  });
}

function addTailEvent(ev: TailEvent): void {
  const a = ev.attributes;
  const list = byId('tail');
  const body = ev.dataBase64 ? `(binary) ${ev.dataBase64}` : JSON.stringify(ev.data, null, 2);
  list.prepend(
    h(
      'li',
      { class: 'fresh', dataset: { id: a.id, type: a.type } },
      h(
        'details',
        {},
        h(
          'summary',
          {},
          h('span', { class: 't' }, fmtTime(a.time ?? new Date().toISOString())),
          h('span', { class: 'ty' }, a.type),
          h('span', { class: 'src' }, a.source),
          h('span', {}, a.id),
          a.subject ? h('span', { class: 'sub' }, ` · ${a.subject}`) : null,
        ),
        h(
          'pre',
          {},
          `${JSON.stringify(a, null, 2)}\n\ndata: ${body}`,
          ev.redacted
            ? `\n\n(${ev.redacted} secret field(s) redacted; the API shows them with reveal=secrets)`
            : '',
        ),
      ),
    ),
  );
  while (list.children.length > TAIL_MAX) list.lastElementChild?.remove();
}

/** Wires the tail's form and buttons (once). */
export function initTail(): void {
  byId('tail-form').addEventListener('submit', (e) => void startTail(e));
  byId('tail-stop').addEventListener('click', () => stopTail());
  byId('tail-clear').addEventListener('click', () => byId('tail').replaceChildren());
}
