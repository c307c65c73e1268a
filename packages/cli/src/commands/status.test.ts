import { afterEach, describe, expect, it } from '@jest/globals';
import type { K8sObject } from '../k8s/manifests.js';
import { FakeApiServer, type FakeApiServerOptions } from '../k8s/testing/fake-api-server.js';
import { parseSlotMetrics, statusCommand } from './status.js';

const METRICS = `# HELP db_events_replication_connected 1 while the replication stream is connected
# TYPE db_events_replication_connected gauge
db_events_replication_connected 1
db_events_replication_lag_bytes 1536
db_events_replication_lag_seconds 0.25
db_events_slot_wal_status{status="reserved"} 1
db_events_slot_wal_status{status="extended"} 0
db_events_slot_wal_status{status="unreserved"} 0
db_events_slot_wal_status{status="lost"} 0
db_events_slot_safe_wal_size_bytes 2147483648
`;

const ready = (extra: Record<string, unknown> = {}) => ({
  observedGeneration: 1,
  conditions: [{ type: 'Ready', status: 'True' }],
  ...extra,
});

function objects(triggerReady: boolean): K8sObject[] {
  const meta = (name: string) => ({ name, namespace: 'tributary', generation: 1 });
  return [
    {
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Broker',
      metadata: meta('default'),
      status: ready({
        address: { url: 'http://kafka-broker-ingress.knative-eventing.svc.cluster.local/tributary/default' },
      }),
    },
    {
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Trigger',
      metadata: meta('on-user-created'),
      spec: { broker: 'default', subscriber: { ref: { kind: 'Service', name: 'on-user-created' } } },
      status: triggerReady
        ? ready({ subscriberUri: 'http://on-user-created.tributary.svc.cluster.local' })
        : {
            observedGeneration: 1,
            conditions: [
              {
                type: 'Ready',
                status: 'False',
                reason: 'SubscriberResolved',
                message: 'services.serving.knative.dev "on-user-created" not found',
              },
            ],
          },
    },
    {
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Trigger',
      metadata: meta('file-indexer'),
      spec: { broker: 'default', subscriber: { ref: { kind: 'Service', name: 'file-indexer' } } },
      status: ready({ subscriberUri: 'http://file-indexer.tributary.svc.cluster.local' }),
    },
    {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: meta('file-indexer'),
      status: ready({ url: 'http://file-indexer.tributary.svc.cluster.local' }),
    },
    // A core Service of the same name must not show up among the Knative Services.
    { apiVersion: 'v1', kind: 'Service', metadata: meta('db-events') },
  ];
}

let server: FakeApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function run(objs: K8sObject[], opts: FakeApiServerOptions) {
  server = await new FakeApiServer(opts).start();
  for (const o of objs) server.seed(o);
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    env: { KUBECONFIG: await server.writeKubeconfig() },
    stdout: (l: string) => out.push(l),
    stderr: (l: string) => err.push(l),
  };
  const code = await statusCommand.run([], io);
  return { code, out: out.join('\n'), err };
}

const metricsProxy: FakeApiServerOptions['serviceProxy'] = (ns, svc, path) =>
  ns === 'tributary' && svc === 'db-events:http' && path === 'metrics'
    ? { status: 200, body: METRICS }
    : { status: 404, body: 'not found' };

describe('tributary status against a fake API server', () => {
  it('shows Ready conditions with reasons and the db-events slot lag; exit 1 while a Trigger is not ready', async () => {
    const r = await run(objects(false), { serviceProxy: metricsProxy });
    expect(r.err).toEqual([]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      [
        'Brokers in tributary:',
        '  NAME     READY  REASON  ADDRESS',
        '  default  True           http://kafka-broker-ingress.knative-eventing.svc.cluster.local/tributary/default',
      ].join('\n'),
    );
    expect(r.out).toMatch(/^Triggers in tributary:\n {2}NAME +READY +REASON +SUBSCRIBER$/m);
    expect(r.out).toMatch(/^ {2}file-indexer +True +http:\/\/file-indexer\.tributary\.svc\.cluster\.local$/m);
    expect(r.out).toMatch(
      /^ {2}on-user-created +False +SubscriberResolved: services\.serving\.knative\.dev "on-user-created" not found +Service\/on-user-created$/m,
    );
    expect(r.out).toContain(
      'Knative Services in tributary:\n  NAME          READY  REASON  URL\n  file-indexer  True',
    );
    expect(r.out).not.toMatch(/^ {2}db-events /m);
    expect(r.out).toContain(
      'db-events replication: connected, slot lag 1.5 KiB (0.3 s), WAL status reserved, 2.0 GiB more WAL before the slot is lost',
    );
    // The lag came through the API server's service proxy.
    expect(server?.requests.map((q) => decodeURIComponent(q.path))).toContain(
      '/api/v1/namespaces/tributary/services/db-events:http/proxy/metrics',
    );
  });

  it('exits 0 when everything is ready and db-events is connected', async () => {
    const r = await run(objects(true), { serviceProxy: metricsProxy });
    expect(r.code).toBe(0);
    expect(r.out).not.toContain('False');
  });

  it('reports unreachable db-events metrics and a missing Broker', async () => {
    const r = await run(
      objects(true).filter((o) => o.kind !== 'Broker'),
      { serviceProxy: () => ({ status: 503, body: 'no endpoints available for service "db-events:http"' }) },
    );
    expect(r.code).toBe(1);
    expect(r.out).toContain('Brokers in tributary: none');
    expect(r.out).toMatch(/db-events replication: metrics unavailable \(.*HTTP 503.*no endpoints available/);
  });
});

describe('parseSlotMetrics', () => {
  it('reads the db-events gauges and ignores the rest', () => {
    expect(parseSlotMetrics(`${METRICS}process_cpu_seconds_total 12\nnot a metric line\n`)).toEqual({
      connected: true,
      lagBytes: 1536,
      lagSeconds: 0.25,
      walStatus: 'reserved',
      safeWalSizeBytes: 2147483648,
    });
    expect(
      parseSlotMetrics('db_events_replication_connected 0\ndb_events_slot_safe_wal_size_bytes -1\n'),
    ).toEqual({
      connected: false,
      safeWalSizeBytes: -1,
    });
  });
});
