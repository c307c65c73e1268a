// Tributary ops dashboard: plain browser JavaScript, no build step. Snapshots arrive over Server-Sent Events
// (/api/stream); the live tail is a second SSE stream (/api/tail); dead letters use the JSON API.

const $ = (id) => document.getElementById(id);

/** Builds an element: h('td', { class: 'num' }, 'text', child, ...). Text is never parsed as HTML. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const svgNs = 'http://www.w3.org/2000/svg';
function svg(tag, attrs) {
  const el = document.createElementNS(svgNs, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

function fmtRate(x) {
  if (!x) return '0';
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}
function fmtInt(x) {
  return Math.round(x ?? 0).toLocaleString('en-US');
}
function fmtDuration(s) {
  if (s === null || s === undefined || Number.isNaN(s)) return '–';
  if (s === 0) return '0 s';
  if (s < 0.001) return `${(s * 1e6).toFixed(0)} µs`;
  if (s < 1) return `${(s * 1000).toFixed(s < 0.01 ? 1 : 0)} ms`;
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
function fmtBytes(n) {
  if (n === null || n === undefined) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let x = n;
  while (Math.abs(x) >= 1024 && i < u.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x.toFixed(i === 0 ? 0 : 1)} ${u[i]}`;
}
function fmtTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleTimeString('en-GB', { hour12: false });
}
function fmtDateTime(iso) {
  const d = new Date(iso);
  return `${d.toISOString().slice(0, 10)} ${fmtTime(iso)}`;
}

/** A sparkline of lag events (line) with lag seconds as a faint area, scaled to their own maxima. */
function sparkline(points) {
  const w = 120;
  const hgt = 28;
  const s = svg('svg', { width: w, height: hgt, viewBox: `0 0 ${w} ${hgt}`, class: 'spark' });
  if (!points || points.length < 2) {
    s.append(svg('line', { x1: 0, y1: hgt - 1, x2: w, y2: hgt - 1, stroke: '#2a3541' }));
    return s;
  }
  const maxE = Math.max(1, ...points.map((p) => p[1]));
  const maxS = Math.max(1, ...points.map((p) => p[2]));
  const x = (i) => (i / (points.length - 1)) * (w - 2) + 1;
  const yE = (v) => hgt - 2 - (v / maxE) * (hgt - 4);
  const yS = (v) => hgt - 1 - (v / maxS) * (hgt - 4);
  const area = `M1,${hgt - 1} ${points.map((p, i) => `L${x(i).toFixed(1)},${yS(p[2]).toFixed(1)}`).join(' ')} L${w - 1},${hgt - 1} Z`;
  s.append(svg('path', { d: area, fill: 'rgba(224,168,58,0.18)', stroke: 'none' }));
  const line = points
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${yE(p[1]).toFixed(1)}`)
    .join(' ');
  const growing = points.at(-1)[1] > points[0][1];
  s.append(
    svg('path', { d: line, fill: 'none', stroke: growing ? '#e5534b' : '#3fb6d3', 'stroke-width': 1.5 }),
  );
  const title = svg('title', {});
  title.textContent = `lag: ${points.at(-1)[1]} events, ${fmtDuration(points.at(-1)[2])} (last ${points.length} samples)`;
  s.append(title);
  return s;
}

// ---------------------------------------------------------------------------------------------------
// Snapshot rendering

let lastDeadLetterTotal = null;

function renderSources(s) {
  const el = $('sources');
  el.replaceChildren(
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

/** A component by its own name: "broker", "db-events", or the name of any other (storage-events, auth-hooks). */
function sourceLabel(src) {
  return src.kind === 'other' ? src.name : src.kind;
}

function renderBrokers(s) {
  const el = $('brokers');
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

function renderTriggers(s) {
  const body = $('triggers');
  if (s.triggers.length === 0) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 10, class: 'empty' }, 'No trigger yet.')));
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

function renderFunctions(s) {
  const body = $('functions');
  if (s.functions.length === 0) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'No function.')));
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

function renderSlots(s) {
  const el = $('slots');
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

function renderAlerts(s) {
  const alerts = [];
  for (const slot of s.slots)
    for (const w of slot.warnings) alerts.push([slot.level, `Replication slot (${slot.source}): ${w}`]);
  for (const src of s.sources)
    if (src.starting) alerts.push(['info', src.starting]);
    else if (!src.ok)
      alerts.push([
        'warning',
        `Cannot read ${sourceLabel(src)}${src.kind === 'other' ? '' : ` (${src.name})`}: ${src.error ?? 'unreachable'}`,
      ]);
  $('alerts').replaceChildren(...alerts.map(([level, text]) => h('div', { class: `alert ${level}` }, text)));
}

function brokerOptions(select, s) {
  const current = select.value;
  const names = new Set(s.brokers.map((b) => `${b.namespace}/${b.name}`));
  for (const d of s.deadLetters ?? []) names.add(`${d.namespace}/${d.broker}`);
  const list = [...names].sort();
  const wanted = select.id === 'dl-broker' ? ['', ...list] : list;
  const existing = [...select.options].map((o) => o.value);
  if (existing.join('|') === wanted.join('|')) return;
  select.replaceChildren(...wanted.map((n) => h('option', { value: n }, n === '' ? 'all brokers' : n)));
  if (wanted.includes(current)) select.value = current;
}

function render(s) {
  $('updated').textContent = `updated ${fmtTime(new Date(s.at).toISOString())}`;
  renderSources(s);
  renderAlerts(s);
  renderBrokers(s);
  renderTriggers(s);
  renderFunctions(s);
  renderSlots(s);
  brokerOptions($('dl-broker'), s);
  brokerOptions($('tail-broker'), s);
  const pending = (s.deadLetters ?? []).reduce((a, d) => a + d.pending, 0);
  const total = (s.deadLetters ?? []).reduce((a, d) => a + d.total, 0);
  const badge = $('dl-count');
  badge.textContent = String(pending);
  badge.className = `badge ${pending > 0 ? 'hot' : ''}`;
  const key = `${pending}/${total}`;
  if (key !== lastDeadLetterTotal) {
    lastDeadLetterTotal = key;
    loadDeadLetters();
  }
}

function connect() {
  const live = $('live');
  const es = new EventSource('/api/stream');
  es.addEventListener('open', () => {
    live.textContent = 'live';
    live.className = 'pill live';
  });
  es.addEventListener('snapshot', (e) => render(JSON.parse(e.data)));
  es.addEventListener('error', () => {
    live.textContent = 'reconnecting…';
    live.className = 'pill stale';
  });
}

// ---------------------------------------------------------------------------------------------------
// Dead letters

let selectedDeadLetter = null;

function dlQuery() {
  const p = new URLSearchParams();
  const b = $('dl-broker').value;
  if (b) {
    const [ns, name] = b.split('/');
    p.set('namespace', ns);
    p.set('broker', name);
  }
  p.set('status', $('dl-status').value);
  p.set('limit', '100');
  return p;
}

function message(text, level = '') {
  const el = $('dl-message');
  el.textContent = text;
  el.className = `message ${level}`;
}

async function api(method, path, body) {
  // State-changing calls always send JSON: the dashboard refuses other content types (CSRF guard).
  const write = method !== 'GET';
  const res = await fetch(path, {
    method,
    headers: write ? { 'content-type': 'application/json' } : {},
    body: write ? JSON.stringify(body ?? {}) : undefined,
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!res.ok && res.status !== 502) throw new Error(json?.message ?? `HTTP ${res.status}`);
  return json;
}

async function loadDeadLetters() {
  let list;
  try {
    list = await api('GET', `/api/dead-letters?${dlQuery()}`);
  } catch (err) {
    $('dead-letters').replaceChildren(
      h('tr', {}, h('td', { colspan: 9, class: 'empty' }, `Dead letters unavailable: ${err.message}`)),
    );
    return;
  }
  const body = $('dead-letters');
  if (list.items.length === 0) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 9, class: 'empty' }, 'No dead letter.')));
    return;
  }
  body.replaceChildren(
    ...list.items.map((d) =>
      h(
        'tr',
        {
          class: d.id === selectedDeadLetter ? 'selected' : '',
          dataset: { id: d.id, eventId: d.eventId },
          onclick: () => inspect(d.id),
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
              onclick: (e) => {
                e.stopPropagation();
                redrive(d.id);
              },
            },
            'Redrive',
          ),
        ),
      ),
    ),
  );
  if (list.total > list.items.length)
    body.append(
      h('tr', {}, h('td', { colspan: 9, class: 'sub' }, `showing ${list.items.length} of ${list.total}`)),
    );
}

function prettyData(d) {
  if (d.dataText === null)
    return d.dataBase64 ? `(binary, ${d.dataBase64.length} base64 chars)\n${d.dataBase64}` : '(no data)';
  try {
    return JSON.stringify(JSON.parse(d.dataText), null, 2);
  } catch {
    return d.dataText;
  }
}

async function inspect(id) {
  selectedDeadLetter = id;
  const d = await api('GET', `/api/dead-letters/${id}`);
  const el = $('dl-detail');
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
    d.errorData ? h('pre', { 'data-testid': 'dl-error-data' }, d.errorData) : null,
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
      h('button', { onclick: () => redrive(d.id) }, 'Redrive'),
      h(
        'button',
        {
          class: 'danger',
          onclick: async () => {
            await api('DELETE', `/api/dead-letters/${d.id}`);
            el.hidden = true;
            selectedDeadLetter = null;
            message(`Deleted dead letter #${d.id}.`);
            loadDeadLetters();
          },
        },
        'Delete',
      ),
      h(
        'button',
        {
          class: 'ghost',
          onclick: () => {
            el.hidden = true;
            selectedDeadLetter = null;
            loadDeadLetters();
          },
        },
        'Close',
      ),
    ),
  );
  el.hidden = false;
  loadDeadLetters();
}

async function redrive(id) {
  try {
    const r = await api('POST', `/api/dead-letters/${id}/redrive`);
    message(
      r.ok
        ? `Redrove dead letter #${id} (ingress answered ${r.status}).`
        : `Redrive of #${id} failed: ${r.error ?? r.status}`,
    );
  } catch (err) {
    message(`Redrive of #${id} failed: ${err.message}`);
  }
  if (selectedDeadLetter === id) inspect(id);
  else loadDeadLetters();
}

async function redriveAll() {
  const b = $('dl-broker').value;
  const [namespace, broker] = b ? b.split('/') : [undefined, undefined];
  const scope = b || 'every broker';
  if (!window.confirm(`Redrive all pending dead letters of ${scope}?`)) return;
  try {
    const r = await api('POST', '/api/dead-letters/redrive', { namespace, broker });
    message(`Redrove ${r.redriven} dead letter(s)${r.failed ? `, ${r.failed} failed` : ''}.`);
  } catch (err) {
    message(`Redrive failed: ${err.message}`);
  }
  loadDeadLetters();
}

// ---------------------------------------------------------------------------------------------------
// Live tail

let tail = null;
const TAIL_MAX = 200;

function tailState(text) {
  $('tail-state').textContent = text;
}

function stopTail(reason) {
  if (tail) tail.close();
  tail = null;
  $('tail-start').textContent = 'Start';
  $('tail-stop').disabled = true;
  tailState(reason ?? 'Stopped.');
}

async function startTail(e) {
  e.preventDefault();
  stopTail();
  const filter = $('tail-filter').value.trim();
  const errEl = $('tail-error');
  errEl.hidden = true;
  const check = await fetch(`/api/cesql?${new URLSearchParams({ filter })}`);
  if (!check.ok) {
    const body = await check.json();
    errEl.textContent = `${body.message}\n\n${body.excerpt ?? ''}`;
    errEl.hidden = false;
    tailState('Fix the filter to start the tail.');
    return;
  }
  const b = $('tail-broker').value;
  if (!b) {
    tailState('No broker to tail.');
    return;
  }
  const [namespace, broker] = b.split('/');
  const q = new URLSearchParams({ namespace, broker });
  if (filter) q.set('filter', filter);
  const es = new EventSource(`/api/tail?${q}`);
  tail = es;
  // Start stays enabled: pressing it again applies a changed filter.
  $('tail-start').textContent = 'Restart';
  $('tail-stop').disabled = false;
  tailState('Connecting…');
  let count = 0;
  es.addEventListener('ready', () =>
    tailState(`Tailing ${b}${filter ? ` where ${filter}` : ''} — waiting for events…`),
  );
  es.addEventListener('cloudevent', (m) => {
    count++;
    addTailEvent(JSON.parse(m.data));
    tailState(`Tailing ${b}${filter ? ` where ${filter}` : ''} — ${count} event(s)`);
  });
  es.addEventListener('skipped', (m) => {
    const { count: n } = JSON.parse(m.data);
    $('tail').prepend(h('li', { class: 'sub' }, `… ${n} event(s) skipped (rate limit)`));
  });
  es.addEventListener('tail-error', (m) => stopTail(`Tail failed: ${JSON.parse(m.data).message}`));
  es.addEventListener('error', () => {
    if (tail === es && es.readyState === EventSource.CLOSED) stopTail('Tail closed by the server.');
    else if (tail === es) tailState('Reconnecting…');
  });
}

function addTailEvent(ev) {
  const a = ev.attributes;
  const list = $('tail');
  const body = ev.dataBase64 ? `(binary) ${ev.dataBase64}` : JSON.stringify(ev.data, null, 2);
  const li = h(
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
  );
  list.prepend(li);
  while (list.children.length > TAIL_MAX) list.lastElementChild.remove();
}

// ---------------------------------------------------------------------------------------------------

$('dl-refresh').addEventListener('click', () => loadDeadLetters());
$('dl-status').addEventListener('change', () => loadDeadLetters());
$('dl-broker').addEventListener('change', () => loadDeadLetters());
$('dl-redrive-all').addEventListener('click', () => redriveAll());
$('tail-form').addEventListener('submit', startTail);
$('tail-stop').addEventListener('click', () => stopTail());
$('tail-clear').addEventListener('click', () => $('tail').replaceChildren());
// ---------------------------------------------------------------------------------------------------
// Sign-in: operators paste a token once (a JWT with role service_role); the session is an HttpOnly cookie.

function showSignIn(reason) {
  const input = h('input', {
    type: 'password',
    id: 'signin-token',
    placeholder: 'service_role key (JWT)',
    autocomplete: 'off',
    required: true,
  });
  const error = h('p', { class: 'message error', id: 'signin-error' }, reason ?? '');
  const form = h(
    'form',
    {
      id: 'signin',
      class: 'card',
      onsubmit: async (e) => {
        e.preventDefault();
        const res = await fetch('/api/session', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ token: input.value }),
        });
        if (res.ok) location.reload();
        else error.textContent = (await res.json().catch(() => ({}))).message ?? `HTTP ${res.status}`;
      },
    },
    h('h2', {}, 'Sign in to the Tributary dashboard'),
    h(
      'p',
      {},
      'Paste an operator token: a JWT signed with the platform JWT secret whose role is service_role.',
    ),
    input,
    h('button', { type: 'submit' }, 'Sign in'),
    error,
  );
  document.body.replaceChildren(h('main', { class: 'signin' }, form));
}

async function start() {
  const res = await fetch('/api/session');
  if (res.status === 401) {
    showSignIn((await res.json().catch(() => ({}))).message);
    return;
  }
  connect();
  loadDeadLetters();
}

start();
