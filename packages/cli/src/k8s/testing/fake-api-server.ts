/**
 * A fake Kubernetes API server for the deploy and status tests (the only fake the project allows: a real
 * cluster cannot run here). node:http on 127.0.0.1; serves API discovery for the kinds below, server-side
 * apply (PATCH application/apply-patch+yaml), GET/LIST of what was applied or seeded, and the service
 * proxy. It records every request so tests can check methods, content types, field managers and order.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { K8sObject } from '../manifests.js';

interface KindInfo {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export const FAKE_KINDS: readonly KindInfo[] = [
  { apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
  { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
  { apiVersion: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true },
  { apiVersion: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  { apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true },
  { apiVersion: 'v1', kind: 'PersistentVolumeClaim', plural: 'persistentvolumeclaims', namespaced: true },
  { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', namespaced: true },
  { apiVersion: 'apps/v1', kind: 'StatefulSet', plural: 'statefulsets', namespaced: true },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', plural: 'networkpolicies', namespaced: true },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', namespaced: true },
  {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    plural: 'horizontalpodautoscalers',
    namespaced: true,
  },
  {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    plural: 'customresourcedefinitions',
    namespaced: false,
  },
  { apiVersion: 'kafka.strimzi.io/v1beta2', kind: 'Kafka', plural: 'kafkas', namespaced: true },
  {
    apiVersion: 'kafka.strimzi.io/v1beta2',
    kind: 'KafkaNodePool',
    plural: 'kafkanodepools',
    namespaced: true,
  },
  { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', plural: 'brokers', namespaced: true },
  { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', plural: 'triggers', namespaced: true },
  { apiVersion: 'eventing.knative.dev/v1alpha1', kind: 'KafkaSink', plural: 'kafkasinks', namespaced: true },
  { apiVersion: 'sources.knative.dev/v1', kind: 'SinkBinding', plural: 'sinkbindings', namespaced: true },
  { apiVersion: 'serving.knative.dev/v1', kind: 'Service', plural: 'services', namespaced: true },
];

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  body: K8sObject | undefined;
}

export interface FakeApiServerOptions {
  /** apiVersions whose discovery answers 404, as when a CRD (e.g. Strimzi's) is not installed. */
  notServed?: readonly string[];
  /**
   * Status of an object at its n-th read (n from 1) since it was last applied; default: ready at once.
   * Return undefined to leave the stored status as is.
   */
  statusOnRead?: (obj: K8sObject, reads: number) => Record<string, unknown> | undefined;
  /** Answers GET /api/v1/namespaces/<ns>/services/<name>/proxy/<path>. */
  serviceProxy?: (namespace: string, service: string, path: string) => { status: number; body: string };
}

interface Stored {
  obj: K8sObject;
  reads: number;
}

/** The status a healthy cluster reports for an object that has converged. */
export function readyStatus(obj: K8sObject): Record<string, unknown> | undefined {
  const generation = obj.metadata.generation ?? 1;
  const replicas = (obj.spec as { replicas?: number } | undefined)?.replicas ?? 1;
  if (obj.kind === 'Deployment' || obj.kind === 'StatefulSet') {
    return {
      observedGeneration: generation,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
    };
  }
  if (obj.kind === 'CustomResourceDefinition') {
    return { conditions: [{ type: 'Established', status: 'True' }] };
  }
  if (/knative\.dev\//.test(obj.apiVersion) || obj.kind === 'Kafka') {
    return { observedGeneration: generation, conditions: [{ type: 'Ready', status: 'True' }] };
  }
  return undefined;
}

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  private readonly store = new Map<string, Stored>();
  private server: Server | undefined;
  url = '';

  constructor(private readonly opts: FakeApiServerOptions = {}) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => send(res, 500, status(500, err.message)));
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()));
  }

  /** A kubeconfig file pointing at this server (plain HTTP, a bearer token it ignores). */
  async writeKubeconfig(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-kube-'));
    const file = join(dir, 'config');
    await writeFile(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `  - name: fake\n    cluster:\n      server: ${this.url}\n      insecure-skip-tls-verify: true`,
        'users:',
        '  - name: fake\n    user:\n      token: fake-token',
        'contexts:',
        '  - name: fake\n    context:\n      cluster: fake\n      user: fake\n      namespace: default',
        'current-context: fake',
        '',
      ].join('\n'),
    );
    return file;
  }

  /** Puts an object in the store as if someone else had created it (e.g. a Secret). */
  seed(obj: K8sObject): void {
    const info = kindInfo(obj.apiVersion, obj.kind);
    if (!info) throw new Error(`fake API server: unknown kind ${obj.apiVersion} ${obj.kind}`);
    this.store.set(key(info, obj.metadata.namespace, obj.metadata.name), { obj, reads: 0 });
  }

  /** The server-side apply requests, in the order they arrived. */
  applies(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'PATCH');
  }

  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): K8sObject | undefined {
    const info = kindInfo(apiVersion, kind);
    return info ? this.store.get(key(info, namespace, name))?.obj : undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = text ? (parse(text) as K8sObject) : undefined;
    this.requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: req.headers['content-type'],
      body,
    });
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);

    // Discovery: /api/v1 and /apis/<group>/<version>
    if (req.method === 'GET' && (url.pathname === '/api/v1' || (parts[0] === 'apis' && parts.length === 3))) {
      const apiVersion = parts[0] === 'api' ? 'v1' : `${parts[1]}/${parts[2]}`;
      const kinds = FAKE_KINDS.filter((k) => k.apiVersion === apiVersion);
      if (kinds.length === 0 || this.opts.notServed?.includes(apiVersion)) {
        return send(res, 404, status(404, 'the server could not find the requested resource'));
      }
      return send(res, 200, {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: apiVersion,
        resources: kinds.map((k) => ({
          name: k.plural,
          singularName: k.kind.toLowerCase(),
          namespaced: k.namespaced,
          kind: k.kind,
          verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
        })),
      });
    }

    // /api/v1/... or /apis/<group>/<version>/...
    const apiVersion = parts[0] === 'api' ? parts[1] : `${parts[1]}/${parts[2]}`;
    let rest = parts.slice(parts[0] === 'api' ? 2 : 3);
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [plural, name, sub, ...subPath] = rest;
    const info = FAKE_KINDS.find((k) => k.apiVersion === apiVersion && k.plural === plural);

    if (apiVersion === 'v1' && plural === 'services' && sub === 'proxy' && namespace && name) {
      const answer = this.opts.serviceProxy?.(namespace, name, subPath.join('/')) ?? {
        status: 503,
        body: 'no endpoints available for service',
      };
      res.writeHead(answer.status, { 'content-type': 'text/plain' });
      res.end(answer.body);
      return;
    }
    if (!info || !apiVersion) return send(res, 404, status(404, `no resource ${url.pathname}`));

    if (req.method === 'PATCH' && name) {
      if (
        req.headers['content-type'] !== 'application/apply-patch+yaml' ||
        !url.searchParams.get('fieldManager')
      ) {
        return send(res, 400, status(400, 'expected a server-side apply with a fieldManager'));
      }
      if (!body || body.kind !== info.kind || body.metadata?.name !== name) {
        return send(res, 400, status(400, 'body does not match the URL'));
      }
      const k = key(info, namespace, name);
      const prev = this.store.get(k)?.obj;
      const generation = (prev?.metadata.generation ?? 0) + 1;
      const obj: K8sObject = {
        ...body,
        metadata: { ...body.metadata, ...(namespace ? { namespace } : {}), generation },
        ...(prev?.status ? { status: prev.status } : {}),
      };
      this.store.set(k, { obj, reads: 0 });
      return send(res, 200, obj);
    }
    if (req.method === 'GET' && name) {
      const stored = this.store.get(key(info, namespace, name));
      if (!stored) return send(res, 404, status(404, `${plural} "${name}" not found`));
      stored.reads++;
      const s = this.opts.statusOnRead
        ? this.opts.statusOnRead(stored.obj, stored.reads)
        : readyStatus(stored.obj);
      if (s !== undefined) stored.obj = { ...stored.obj, status: s };
      return send(res, 200, stored.obj);
    }
    if (req.method === 'GET' && !name) {
      const items = [...this.store.values()]
        .map((s) => s.obj)
        .filter(
          (o) =>
            o.apiVersion === info.apiVersion &&
            o.kind === info.kind &&
            (!namespace || o.metadata.namespace === namespace),
        );
      return send(res, 200, { apiVersion: info.apiVersion, kind: `${info.kind}List`, metadata: {}, items });
    }
    return send(res, 405, status(405, `${req.method} not supported by the fake`));
  }
}

function kindInfo(apiVersion: string, kind: string): KindInfo | undefined {
  return FAKE_KINDS.find((k) => k.apiVersion === apiVersion && k.kind === kind);
}

function key(info: KindInfo, namespace: string | undefined, name: string): string {
  return `${info.apiVersion}/${info.kind}/${info.namespaced ? (namespace ?? 'default') : ''}/${name}`;
}

function status(code: number, message: string) {
  return { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code };
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
