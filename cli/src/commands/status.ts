import { DB_EVENTS_METRICS as D } from '@tributary/db-events/metrics';
import { TributaryError } from '@tributary/shared';
import { type Command, type CommandIo, parseOptions, UsageError } from '../command.js';
import { Cluster } from '../k8s/client.js';
import { formatBytes, table } from '../k8s/format.js';
import { loadKubeConfig } from '../k8s/kubeconfig.js';
import type { K8sObject } from '../k8s/manifests.js';
import { formatCondition, readinessOf, readyCondition } from '../k8s/readiness.js';

const usage = `usage: tributary status [--namespace <ns>] [--context <name>]

Shows the Ready condition (with reason and message when not ready) of the Brokers, Triggers and Knative
Services in the namespace, and the replication slot of db-events: connected or not, lag in bytes and
seconds, WAL status and how much more WAL the slot may hold before Postgres invalidates it
(max_slot_wal_keep_size). The slot figures come from db-events' own /metrics, read through the Kubernetes
API server's service proxy (services/db-events:http), so no database credentials are needed.

Options:
  -n, --namespace <ns>  namespace (default: tributary)
      --context <name>  kubeconfig context (default: the current one)
  -h, --help            show this help

Exit status: 0 when everything listed is ready and db-events is connected to its slot; 1 otherwise.`;

/** The db-events figures `tributary status` shows, from its Prometheus text. */
export interface SlotMetrics {
  connected?: boolean;
  lagBytes?: number;
  lagSeconds?: number;
  walStatus?: string;
  safeWalSizeBytes?: number;
}

/** Reads the db_events_* gauges `status` needs from Prometheus text exposition. */
export function parseSlotMetrics(text: string): SlotMetrics {
  const out: SlotMetrics = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const [, name, labels = '', raw] = m;
    const value = Number(raw);
    if (!Number.isFinite(value)) continue;
    if (name === D.connected.name) out.connected = value === 1;
    else if (name === D.lagBytes.name) out.lagBytes = value;
    else if (name === D.lagSeconds.name) out.lagSeconds = value;
    else if (name === D.slotSafeWalSize.name) out.safeWalSizeBytes = value;
    else if (name === D.slotWalStatus.name && value === 1) {
      out.walStatus = /status="([^"]*)"/.exec(labels)?.[1];
    }
  }
  return out;
}

export function formatSlot(m: SlotMetrics): string {
  const parts = [
    m.connected === undefined ? 'connection unknown' : m.connected ? 'connected' : 'NOT connected',
  ];
  if (m.lagBytes !== undefined) {
    parts.push(
      `slot lag ${formatBytes(m.lagBytes)}${m.lagSeconds !== undefined ? ` (${m.lagSeconds.toFixed(1)} s)` : ''}`,
    );
  }
  if (m.walStatus) parts.push(`WAL status ${m.walStatus}`);
  if (m.safeWalSizeBytes !== undefined) {
    parts.push(
      m.safeWalSizeBytes < 0
        ? 'WAL kept without limit'
        : `${formatBytes(m.safeWalSizeBytes)} more WAL before the slot is lost`,
    );
  }
  return parts.join(', ');
}

export const statusCommand: Command = {
  name: 'status',
  summary:
    'show the Ready conditions of the Broker, Triggers and Knative Services, and the db-events slot lag',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseOptions(argv, {
      namespace: { type: 'string', short: 'n' },
      context: { type: 'string' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    try {
      return await status(io, values.namespace ?? 'tributary', values.context);
    } catch (err) {
      if (err instanceof TributaryError) {
        io.stderr(`tributary status: ${err.message}`);
        return 1;
      }
      throw err;
    }
  },
};

const SECTIONS = [
  { title: 'Brokers', apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', extra: 'ADDRESS' },
  { title: 'Triggers', apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', extra: 'SUBSCRIBER' },
  { title: 'Knative Services', apiVersion: 'serving.knative.dev/v1', kind: 'Service', extra: 'URL' },
] as const;

function extraColumn(obj: K8sObject, kind: string): string {
  const status = (obj.status ?? {}) as { address?: { url?: string }; url?: string; subscriberUri?: string };
  const spec = (obj.spec ?? {}) as { subscriber?: { ref?: { kind?: string; name?: string }; uri?: string } };
  if (kind === 'Broker') return status.address?.url ?? '';
  if (kind === 'Service') return status.url ?? '';
  const ref = spec.subscriber?.ref;
  return status.subscriberUri ?? (ref ? `${ref.kind}/${ref.name}` : (spec.subscriber?.uri ?? ''));
}

async function status(io: CommandIo, namespace: string, context: string | undefined): Promise<number> {
  const kc = loadKubeConfig(io.env, context);
  const cluster = new Cluster(kc);
  let healthy = true;
  for (const s of SECTIONS) {
    let items: K8sObject[];
    try {
      items = await cluster.list(s.apiVersion, s.kind, namespace);
    } catch (err) {
      healthy = false;
      io.stdout(`${s.title}: cannot list (${(err as Error).message})\n`);
      continue;
    }
    if (items.length === 0) {
      io.stdout(`${s.title} in ${namespace}: none\n`);
      if (s.kind === 'Broker') healthy = false;
      continue;
    }
    const rows = items
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
      .map((obj) => {
        const r = readinessOf(obj);
        if (!r.ready) healthy = false;
        const c = readyCondition(obj);
        const ready = r.ready ? 'True' : c?.status === 'True' ? 'False' : (c?.status ?? 'Unknown');
        return [obj.metadata.name, ready, r.ready ? '' : reasonOf(obj, r.detail), extraColumn(obj, s.kind)];
      });
    io.stdout(`${s.title} in ${namespace}:`);
    for (const line of table(['NAME', 'READY', 'REASON', s.extra], rows)) io.stdout(`  ${line}`);
    io.stdout('');
  }
  try {
    const text = await cluster.serviceProxyGet(namespace, 'db-events:http', 'metrics');
    const m = parseSlotMetrics(text);
    if (!m.connected) healthy = false;
    io.stdout(`db-events replication: ${formatSlot(m)}`);
  } catch (err) {
    healthy = false;
    io.stdout(`db-events replication: metrics unavailable (${explainProxyError(err, namespace)})`);
  }
  return healthy ? 0 : 1;
}

/** What a failed service-proxy read of db-events' metrics means, in the terms of the deployment. */
function explainProxyError(err: unknown, namespace: string): string {
  const message = (err as Error).message;
  const status = err instanceof TributaryError ? err.statusCode : undefined;
  const pods = `kubectl get pods -n ${namespace} -l app.kubernetes.io/name=db-events`;
  if (status === 503 && /no endpoints available/.test(message)) {
    return `no ready db-events pod behind Service ${namespace}/db-events: see \`${pods}\`; ${message}`;
  }
  if (status === 404 && /services "db-events" not found/.test(message)) {
    return `no Service db-events in ${namespace}: is Tributary deployed there?; ${message}`;
  }
  return message;
}

/** `Reason: message` of the Ready condition, or the readiness detail when there is none. */
function reasonOf(obj: K8sObject, detail: string): string {
  const c = readyCondition(obj);
  if (!c || c.status === 'True') return detail;
  return formatCondition(c).replace(/^\w+ \((.*)\)$/, '$1');
}
