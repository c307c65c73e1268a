// Trigger replay: pick a Trigger and a point (RFC 3339 time or "earliest"), preview how many events each
// partition would deliver again (a dry run), then replay exactly what was previewed, after a confirmation. The
// server checks the operator and the origin, and audit-logs every call (src/replay.ts).
import { api, errorMessage } from '../api.js';
import { byId, h } from '../dom.js';
import type { ReplayPlan, ReplayTriggerList } from '../wire.js';

/** What the last preview showed: Replay applies exactly that, and any edit disables it again. */
let previewed: { trigger: string; from: string } | undefined;

const applyButton = () => byId<HTMLButtonElement>('replay-apply');

function say(text: string, level: 'info' | 'ok' | 'error' = 'info'): void {
  const el = byId('replay-message');
  el.textContent = text;
  el.className = `message ${level}`;
}

function showPlan(plan: ReplayPlan): void {
  const body = byId('replay-plan');
  body.replaceChildren(
    ...plan.partitions.map((p) =>
      h(
        'tr',
        {},
        h('td', {}, String(p.partition)),
        h('td', { class: 'num' }, p.current ?? '-'),
        h('td', { class: 'num' }, p.target),
        h('td', { class: 'num' }, String(p.events)),
      ),
    ),
  );
  const table = body.closest('table');
  if (table) table.hidden = false;
}

async function run(dryRun: boolean): Promise<void> {
  const trigger = byId<HTMLSelectElement>('replay-trigger').value;
  const from = byId<HTMLInputElement>('replay-from').value.trim();
  if (!trigger) {
    say('No Trigger to replay (the dashboard knows Triggers from the local YAML).', 'error');
    return;
  }
  applyButton().disabled = true;
  try {
    // The select's value is `<namespace>/<name>`, the route's two path segments.
    const plan = await api<ReplayPlan>('POST', `/api/replay/${trigger}`, { from, dryRun });
    showPlan(plan);
    if (dryRun) {
      previewed = { trigger, from };
      applyButton().disabled = plan.events === 0;
      say(`${plan.trigger} from ${plan.from}: ${plan.events} event(s) would be delivered again.`);
    } else {
      previewed = undefined;
      say(
        `Replayed ${plan.trigger} from ${plan.from}: ${plan.events} event(s) will be delivered again.`,
        'ok',
      );
    }
  } catch (err) {
    say(`Replay ${dryRun ? 'preview ' : ''}failed: ${errorMessage(err)}`, 'error');
  }
}

function apply(): void {
  if (!previewed) return;
  if (!window.confirm(`Deliver the events of ${previewed.trigger} from ${previewed.from} again?`)) return;
  void run(false);
}

/** Fills the Trigger list and wires the panel's controls (once, after sign-in). */
export async function initReplay(): Promise<void> {
  byId('replay-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void run(true);
  });
  for (const id of ['replay-trigger', 'replay-from'])
    byId(id).addEventListener('input', () => {
      applyButton().disabled = true;
    });
  applyButton().addEventListener('click', apply);

  let list: ReplayTriggerList;
  try {
    list = await api<ReplayTriggerList>('GET', '/api/replay/triggers');
  } catch (err) {
    say(`Replay unavailable: ${errorMessage(err)}`, 'error');
    return;
  }
  byId<HTMLSelectElement>('replay-trigger').replaceChildren(
    ...list.triggers.map((t) =>
      h('option', { value: `${t.namespace}/${t.name}` }, `${t.namespace}/${t.name} (broker ${t.broker})`),
    ),
  );
  if (!list.available) say('Replay is unavailable: the dashboard has no broker log.', 'error');
}
