// Dead letters: the pending badge, browse (by broker and status), inspect, redrive one or all, delete.
import type { Snapshot } from '../../views/types.js';
import { api, errorMessage } from '../api.js';
import { byId, emptyRow, h } from '../dom.js';
import { fmtDateTime } from '../format.js';
import type { DeadLetter, DeadLetterPage, RedriveAllResult, RedriveResult } from '../wire.js';

let selected: string | null = null;
let lastCounts: string | null = null;

const brokerSelect = () => byId<HTMLSelectElement>('dl-broker');

function query(): URLSearchParams {
  const p = new URLSearchParams();
  const b = brokerSelect().value;
  if (b) {
    const [ns = '', name = ''] = b.split('/');
    p.set('namespace', ns);
    p.set('broker', name);
  }
  p.set('status', byId<HTMLSelectElement>('dl-status').value);
  p.set('limit', '100');
  return p;
}

function message(text: string, level = ''): void {
  const el = byId('dl-message');
  el.textContent = text;
  el.className = `message ${level}`;
}

/** The pending badge; the list reloads when the counts change. */
export function renderDeadLetterCount(s: Snapshot): void {
  const pending = (s.deadLetters ?? []).reduce((a, d) => a + d.pending, 0);
  const total = (s.deadLetters ?? []).reduce((a, d) => a + d.total, 0);
  const badge = byId('dl-count');
  badge.textContent = String(pending);
  badge.className = `badge ${pending > 0 ? 'hot' : ''}`;
  const key = `${pending}/${total}`;
  if (key !== lastCounts) {
    lastCounts = key;
    void loadDeadLetters();
  }
}

export async function loadDeadLetters(): Promise<void> {
  const body = byId('dead-letters');
  let list: DeadLetterPage;
  try {
    list = await api<DeadLetterPage>('GET', `/api/dead-letters?${query()}`);
  } catch (err) {
    body.replaceChildren(emptyRow(9, `Dead letters unavailable: ${errorMessage(err)}`));
    return;
  }
  if (list.items.length === 0) {
    body.replaceChildren(emptyRow(9, 'No dead letter.'));
    return;
  }
  body.replaceChildren(
    ...list.items.map((d) =>
      h(
        'tr',
        {
          class: d.id === selected ? 'selected' : '',
          dataset: { id: d.id, eventId: d.eventId },
          onclick: () => void inspect(d.id),
        },
        h('td', { class: 'sub' }, fmtDateTime(d.receivedAt)),
        h('td', { class: 'wide' }, `${d.namespace}/${d.broker}`),
        h('td', { class: 'mono' }, d.type),
        h('td', { class: 'mono' }, h('div', {}, d.eventId), h('div', { class: 'sub' }, d.source)),
        h(
          'td',
          {},
          d.errorCode
            ? h('span', { class: 'pill bad' }, d.errorCode)
            : h('span', { class: 'pill stale' }, 'timeout / no response'),
        ),
        h('td', { class: 'sub mono wide' }, d.errorDest ?? '–'),
        h('td', { class: 'num' }, d.times),
        h(
          'td',
          {},
          h(
            'span',
            { class: `pill ${d.status === 'pending' ? 'stale' : 'ok'}`, 'data-testid': 'dl-status' },
            d.status,
          ),
        ),
        h(
          'td',
          {},
          h(
            'button',
            {
              class: 'small',
              'data-testid': 'redrive',
              onclick: (e: Event) => {
                e.stopPropagation();
                void redrive(d.id);
              },
            },
            'Redrive',
          ),
        ),
      ),
    ),
  );
  if (list.total > list.items.length)
    body.append(emptyRow(9, `showing ${list.items.length} of ${list.total}`, 'sub'));
}

function prettyData(d: DeadLetter): string {
  if (d.dataText === null)
    return d.dataBase64 ? `(binary, ${d.dataBase64.length} base64 chars)\n${d.dataBase64}` : '(no data)';
  try {
    return JSON.stringify(JSON.parse(d.dataText), null, 2);
  } catch {
    return d.dataText;
  }
}

async function inspect(id: string): Promise<void> {
  selected = id;
  const d = await api<DeadLetter>('GET', `/api/dead-letters/${id}`);
  const el = byId('dl-detail');
  const close = () => {
    el.hidden = true;
    selected = null;
  };
  const attrs = Object.entries(d.attributes).sort(([a], [b]) => a.localeCompare(b));
  el.replaceChildren(
    h(
      'h3',
      {},
      `Dead letter #${d.id} `,
      h('span', { class: `pill ${d.status === 'pending' ? 'stale' : 'ok'}` }, d.status),
    ),
    h(
      'div',
      { class: 'sub' },
      `${d.namespace}/${d.broker} · dead-lettered ${d.times}× · last ${fmtDateTime(d.receivedAt)}`,
      d.redrivenAt ? ` · redriven ${fmtDateTime(d.redrivenAt)}` : '',
    ),
    h('h4', {}, 'Error'),
    h(
      'table',
      {},
      h(
        'tr',
        {},
        h('td', {}, 'code'),
        h('td', {}, d.errorCode ?? 'no response (timeout or connection error)'),
      ),
      h('tr', {}, h('td', {}, 'destination'), h('td', {}, d.errorDest ?? '–')),
    ),
    d.errorData ? h('pre', { 'data-testid': 'dl-error-data' }, d.errorData) : '',
    h('h4', {}, 'Attributes'),
    h(
      'table',
      { 'data-testid': 'dl-attributes' },
      ...attrs.map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', {}, v))),
    ),
    h('h4', {}, 'Data'),
    h('pre', { 'data-testid': 'dl-body' }, prettyData(d)),
    h(
      'div',
      { class: 'actions' },
      h('button', { onclick: () => void redrive(d.id) }, 'Redrive'),
      h(
        'button',
        {
          class: 'danger',
          onclick: async () => {
            await api('DELETE', `/api/dead-letters/${d.id}`);
            close();
            message(`Deleted dead letter #${d.id}.`);
            void loadDeadLetters();
          },
        },
        'Delete',
      ),
      h(
        'button',
        {
          class: 'ghost',
          onclick: () => {
            close();
            void loadDeadLetters();
          },
        },
        'Close',
      ),
    ),
  );
  el.hidden = false;
  void loadDeadLetters();
}

async function redrive(id: string): Promise<void> {
  try {
    const r = await api<RedriveResult>('POST', `/api/dead-letters/${id}/redrive`);
    message(
      r.ok
        ? `Redrove dead letter #${id} (ingress answered ${r.status}).`
        : `Redrive of #${id} failed: ${r.error ?? r.status}`,
    );
  } catch (err) {
    message(`Redrive of #${id} failed: ${errorMessage(err)}`);
  }
  if (selected === id) void inspect(id);
  else void loadDeadLetters();
}

async function redriveAll(): Promise<void> {
  const b = brokerSelect().value;
  const [namespace, broker] = b ? b.split('/') : [undefined, undefined];
  const scope = b || 'every broker';
  if (!window.confirm(`Redrive all pending dead letters of ${scope}?`)) return;
  try {
    const r = await api<RedriveAllResult>('POST', '/api/dead-letters/redrive', { namespace, broker });
    message(`Redrove ${r.redriven} dead letter(s)${r.failed ? `, ${r.failed} failed` : ''}.`);
  } catch (err) {
    message(`Redrive failed: ${errorMessage(err)}`);
  }
  void loadDeadLetters();
}

/** Wires the panel's controls (once). */
export function initDeadLetters(): void {
  byId('dl-refresh').addEventListener('click', () => void loadDeadLetters());
  byId('dl-status').addEventListener('change', () => void loadDeadLetters());
  brokerSelect().addEventListener('change', () => void loadDeadLetters());
  byId('dl-redrive-all').addEventListener('click', () => void redriveAll());
}
