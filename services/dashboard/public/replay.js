// Trigger replay panel: pick a Trigger and a point (RFC 3339 time or "earliest"), preview how many events
// each partition would deliver again (a dry run), then replay. The server checks the operator, the origin
// and audit-logs every call (services/dashboard/src/replay.ts).
const $ = (id) => document.getElementById(id);

function say(text, level = 'info') {
  const el = $('replay-message');
  el.textContent = text;
  el.className = `message ${level}`;
}

async function post(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new Error(json?.message ?? `HTTP ${res.status}`);
  return json;
}

function showPlan(plan) {
  const rows = plan.partitions.map((p) => {
    const tr = document.createElement('tr');
    for (const [value, num] of [
      [String(p.partition), false],
      [p.current ?? '-', true],
      [p.target, true],
      [String(p.events), true],
    ]) {
      const td = document.createElement('td');
      td.textContent = value;
      if (num) td.className = 'num';
      tr.append(td);
    }
    return tr;
  });
  $('replay-plan').replaceChildren(...rows);
  $('replay-plan').closest('table').hidden = false;
}

let previewed; // { trigger, from } of the last preview: Replay applies exactly that

async function run(dryRun) {
  const trigger = $('replay-trigger').value;
  const from = $('replay-from').value.trim();
  if (!trigger)
    return say('No Trigger to replay (the dashboard knows Triggers from the local YAML).', 'error');
  $('replay-apply').disabled = true;
  try {
    const plan = await post(`/api/replay/${trigger}`, { from, dryRun });
    showPlan(plan);
    if (dryRun) {
      previewed = { trigger, from };
      $('replay-apply').disabled = plan.events === 0;
      say(`${plan.trigger} from ${plan.from}: ${plan.events} event(s) would be delivered again.`);
    } else {
      previewed = undefined;
      say(
        `Replayed ${plan.trigger} from ${plan.from}: ${plan.events} event(s) will be delivered again.`,
        'ok',
      );
    }
  } catch (err) {
    say(`Replay ${dryRun ? 'preview ' : ''}failed: ${err.message}`, 'error');
  }
}

async function init() {
  let list;
  try {
    const res = await fetch('/api/replay/triggers');
    if (!res.ok) return; // not signed in yet: the page asks for a token; reloading brings the panel back
    list = await res.json();
  } catch {
    return;
  }
  const select = $('replay-trigger');
  select.replaceChildren(
    ...list.triggers.map((t) => {
      const o = document.createElement('option');
      o.value = `${t.namespace}/${t.name}`;
      o.textContent = `${t.namespace}/${t.name} (broker ${t.broker})`;
      return o;
    }),
  );
  if (!list.available) say('Replay is unavailable: the dashboard has no broker log.', 'error');
  $('replay-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void run(true);
  });
  for (const id of ['replay-trigger', 'replay-from'])
    $(id).addEventListener('input', () => {
      $('replay-apply').disabled = true;
    });
  $('replay-apply').addEventListener('click', () => {
    if (!previewed) return;
    if (!window.confirm(`Deliver the events of ${previewed.trigger} from ${previewed.from} again?`)) return;
    void run(false);
  });
}

void init();
