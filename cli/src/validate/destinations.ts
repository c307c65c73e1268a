import type { Doc } from './files.js';
import type { Finding, Severity } from './findings.js';
import { nearest } from './typos.js';

export interface KnownTargets {
  services: Map<string, Doc>;
  brokers: Set<string>;
  sinks: Set<string>;
}

export function getPath(value: unknown, path: readonly string[]): unknown {
  let v = value;
  for (const p of path) {
    if (!v || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

/** `subscriber` / `deadLetterSink`: a `ref` must name something that exists. */
export function checkDestination(d: Doc, dest: unknown, path: string, known: KnownTargets): Finding[] {
  if (!dest || typeof dest !== 'object') return [];
  const ref = (dest as { ref?: unknown }).ref;
  if (!ref || typeof ref !== 'object') return [];
  const r = ref as { kind?: unknown; name?: unknown; namespace?: unknown; apiVersion?: unknown };
  if (typeof r.kind !== 'string' || typeof r.name !== 'string') return []; // the loader reports the shape
  const namespace = typeof r.namespace === 'string' ? r.namespace : d.namespace;
  const key = `${namespace}/${r.name}`;
  const apiVersion = typeof r.apiVersion === 'string' ? r.apiVersion : '';
  const resource = `${d.kind} ${d.namespace}/${d.name ?? '(unnamed)'}`;
  const finding = (severity: Severity, message: string): Finding => ({
    severity,
    file: d.file,
    document: d.document,
    resource,
    path: `${path}.ref`,
    message,
  });
  const names = (keys: Iterable<string>) =>
    [...keys].filter((k) => k.startsWith(`${namespace}/`)).map((k) => k.slice(namespace.length + 1));
  if (r.kind === 'Service' && apiVersion.startsWith('serving.knative.dev/')) {
    if (known.services.has(key)) return [];
    const candidates = names(known.services.keys());
    const near = nearest(r.name, candidates);
    return [
      finding(
        'error',
        `no function Service "${r.name}" in namespace "${namespace}"` +
          (near
            ? `: did you mean "${near}"?`
            : candidates.length
              ? ` (known: ${candidates.join(', ')})`
              : ''),
      ),
    ];
  }
  if (r.kind === 'Broker') {
    if (known.brokers.has(key)) return [];
    return [finding('error', `no Broker "${r.name}" in namespace "${namespace}"`)];
  }
  if (r.kind === 'KafkaSink') {
    if (known.sinks.has(key)) return [];
    return [finding('warning', `KafkaSink "${r.name}" is not defined in the files checked`)];
  }
  if (r.kind === 'Service' && (apiVersion === 'v1' || apiVersion === '')) return []; // a Kubernetes Service
  return [finding('warning', `${apiVersion ? `${apiVersion} ` : ''}${r.kind} refs are not checked`)];
}
