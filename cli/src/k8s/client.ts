import {
  ApiException,
  CoreV1Api,
  HttpMethod,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
} from '@kubernetes/client-node';
import { TributaryError } from '@tributary/shared';
import type { K8sObject } from './manifests.js';

/** The Kubernetes calls deploy and status make, over @kubernetes/client-node. */
export class Cluster {
  readonly objects: ObjectApi;
  readonly core: CoreV1Api;

  constructor(readonly kc: KubeConfig) {
    this.objects = ObjectApi.create(kc);
    this.core = kc.makeApiClient(CoreV1Api);
  }

  /** Server-side apply (`kubectl apply --server-side --force-conflicts --field-manager <fieldManager>`). */
  async apply(obj: K8sObject, fieldManager: string): Promise<K8sObject> {
    try {
      return await this.objects.applyRaw(obj, fieldManager);
    } catch (err) {
      throw apiError(err, `apply ${obj.kind} ${obj.metadata.namespace ?? ''}/${obj.metadata.name}`);
    }
  }

  /** The object as the cluster has it now, or undefined if it does not exist. */
  async read(obj: K8sObject): Promise<K8sObject | undefined> {
    try {
      return await this.objects.readRaw(obj);
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return undefined;
      throw apiError(err, `read ${obj.kind} ${obj.metadata.name}`);
    }
  }

  async list(apiVersion: string, kind: string, namespace: string): Promise<K8sObject[]> {
    try {
      return await this.objects.listRaw(apiVersion, kind, namespace);
    } catch (err) {
      throw apiError(err, `list ${kind} in ${namespace}`);
    }
  }

  /** Whether the API server serves this apiVersion and kind (its CRD is installed). */
  async serves(apiVersion: string, kind: string): Promise<boolean> {
    try {
      return await this.objects.serves(apiVersion, kind);
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return false;
      throw apiError(err, `discover ${apiVersion}`);
    }
  }

  /** GET through the API server's service proxy: /api/v1/namespaces/<ns>/services/<service>/proxy/<path>. */
  async serviceProxyGet(namespace: string, service: string, path: string): Promise<string> {
    try {
      return await this.core.connectGetNamespacedServiceProxyWithPath({ name: service, namespace, path });
    } catch (err) {
      throw apiError(err, `GET service ${namespace}/${service} /${path}`);
    }
  }
}

/**
 * KubernetesObjectApi without its typed (de)serialization: client-node picks a model from the version and
 * kind alone, so a Knative `serving.knative.dev/v1 Service` goes through the core V1Service model, which
 * drops `spec.template` on the way out and `status.url` / `observedGeneration` on the way in. Objects
 * here travel as plain JSON, exactly as written.
 */
class ObjectApi extends KubernetesObjectApi {
  static create(kc: KubeConfig): ObjectApi {
    const api = kc.makeApiClient(ObjectApi);
    api.setDefaultNamespace(kc);
    return api;
  }

  async applyRaw(obj: K8sObject, fieldManager: string): Promise<K8sObject> {
    const path = await this.specUriPath(copyHeader(obj), 'patch');
    const ctx = this.configuration.baseServer.makeRequestContext(path, HttpMethod.PATCH);
    ctx.setHeaderParam('Accept', 'application/json');
    ctx.setHeaderParam('Content-Type', PatchStrategy.ServerSideApply);
    ctx.setQueryParam('fieldManager', fieldManager);
    ctx.setQueryParam('force', 'true');
    ctx.setBody(JSON.stringify(obj));
    return (await this.requestPromise(ctx, 'KubernetesObject')) as unknown as K8sObject;
  }

  async readRaw(obj: K8sObject): Promise<K8sObject> {
    const path = await this.specUriPath(copyHeader(obj), 'read');
    const ctx = this.configuration.baseServer.makeRequestContext(path, HttpMethod.GET);
    ctx.setHeaderParam('Accept', 'application/json');
    return (await this.requestPromise(ctx, 'KubernetesObject')) as unknown as K8sObject;
  }

  async listRaw(apiVersion: string, kind: string, namespace: string): Promise<K8sObject[]> {
    const path = await this.specUriPath({ apiVersion, kind, metadata: { namespace } }, 'list');
    const ctx = this.configuration.baseServer.makeRequestContext(path, HttpMethod.GET);
    ctx.setHeaderParam('Accept', 'application/json');
    const list = (await this.requestPromise(ctx, 'KubernetesObject')) as unknown as { items?: K8sObject[] };
    return (list.items ?? []).map((o) => ({ ...o, apiVersion, kind }));
  }

  async serves(apiVersion: string, kind: string): Promise<boolean> {
    return (await this.resource(apiVersion, kind)) !== undefined;
  }
}

/** apiVersion, kind, name and namespace only: specUriPath fills in a default namespace in place. */
function copyHeader(obj: K8sObject): KubernetesObject {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: {
      name: obj.metadata.name,
      ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
    },
  };
}

/** A TributaryError with the API server's own message (`Status.message`) and HTTP code. */
export function apiError(err: unknown, doing: string): TributaryError {
  if (err instanceof ApiException) {
    let message = typeof err.body === 'string' ? err.body : JSON.stringify(err.body);
    try {
      const status = JSON.parse(message) as { message?: string };
      if (status.message) message = status.message;
    } catch {
      // not a Status object: keep the body as is
    }
    return new TributaryError(`${doing}: HTTP ${err.code}: ${message}`, {
      code: 'KUBERNETES_API',
      retriable: err.code >= 500 || err.code === 429,
      statusCode: err.code,
      cause: err,
    });
  }
  const e = err as Error & { cause?: { code?: string } };
  return new TributaryError(`${doing}: ${e?.message ?? String(err)}`, {
    code: 'KUBERNETES_API',
    retriable: true,
    cause: err,
  });
}
