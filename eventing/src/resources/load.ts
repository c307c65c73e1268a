import { readdirSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { compileTriggerFilter } from '../filters/compile.js';
import { triggerGroupId } from '../log/names.js';
import { mergeDelivery, resolveDelivery } from './delivery.js';
import { formatPath, type ResourceIssue, ResourceValidationError } from './errors.js';
import {
  type BrokerManifest,
  brokerSchema,
  type ConfigMapManifest,
  configMapSchema,
  type DestinationManifest,
  type TriggerManifest,
  triggerSchema,
} from './schema.js';
import type {
  BrokerResource,
  DeliveryOrder,
  InitialOffset,
  KafkaBrokerConfig,
  LoadedResources,
  ResourceLocation,
  TriggerResource,
} from './types.js';

export const DELIVERY_ORDER_ANNOTATION = 'kafka.eventing.knative.dev/delivery.order';
export const INITIAL_OFFSET_ANNOTATION = 'tributary.dev/initial-offset';
/** The Knative Kafka broker's ConfigMap name, used when a Broker names no `spec.config`. */
export const KAFKA_BROKER_CONFIG = 'kafka-broker-config';
export const DEFAULT_NAMESPACE = 'default';

export { triggerGroupId };

export interface SourceText {
  /** Shown in errors; usually a path relative to the working directory. */
  file: string;
  text: string;
}

/**
 * Loads Broker and Trigger YAML from files and/or folders (folders are read recursively for `.yaml` and
 * `.yml`, see {@link yamlFilesIn}). Throws ResourceValidationError listing every problem.
 */
export async function loadResources(
  paths: string | readonly string[],
  cwd = process.cwd(),
): Promise<LoadedResources> {
  const files: string[] = [];
  for (const p of typeof paths === 'string' ? [paths] : paths) {
    const st = await stat(p).catch(() => undefined);
    if (!st)
      throw new ResourceValidationError([
        { file: p, document: 0, path: '', message: 'no such file or folder' },
      ]);
    if (st.isDirectory()) files.push(...yamlFilesIn(p));
    else files.push(p);
  }
  const sources: SourceText[] = [];
  for (const f of files) sources.push({ file: relative(cwd, f) || f, text: await readFile(f, 'utf8') });
  return parseResources(sources);
}

/**
 * The `.yaml` / `.yml` files below `dir`, recursively, in name order, skipping dot-folders, node_modules and
 * dist: what `loadResources`, `tributary dev` and `tributary validate` read from a folder.
 */
export function yamlFilesIn(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.startsWith('.') || e.name === 'node_modules' || e.name === 'dist') continue;
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...yamlFilesIn(full));
    else if (/\.ya?ml$/i.test(e.name)) out.push(full);
  }
  return out;
}

interface Located<T> {
  manifest: T;
  location: ResourceLocation;
}

/**
 * A YAML syntax error at its line and column, with the line itself and a caret under the column:
 *   YAML syntax: Missing closing "quote
 *       type: "dev.tributary.db.row.inserted
 *             ^
 */
export function yamlSyntaxIssue(
  error: { code: string; message: string; pos: [number, number] },
  text: string,
  lineCounter: LineCounter,
): { line: number; column: number; message: string } {
  let at = error.pos[0];
  // An unclosed quote is reported where the text ends: point at the quote that opened it instead.
  const quote = /closing (["'])quote/.exec(error.message)?.[1];
  if (error.code === 'MISSING_CHAR' && quote) {
    let i = text.lastIndexOf(quote, at - 1);
    while (i > 0 && quote === '"' && text[i - 1] === '\\') i = text.lastIndexOf(quote, i - 1);
    if (i >= 0) at = i;
  }
  const { line, col } = lineCounter.linePos(at);
  const source = (text.split(/\r?\n/)[line - 1] ?? '').replace(/\t/g, ' ');
  const caret = `${' '.repeat(Math.max(0, col - 1))}^`;
  return {
    line,
    column: col,
    message: `YAML syntax: ${error.message.split('\n')[0]}\n      ${source}\n      ${caret}`,
  };
}

/** Problems found while parsing: errors (the load fails) and warnings (it goes on). */
interface Findings {
  issues: ResourceIssue[];
  warnings: string[];
}

interface ParsedManifests {
  brokers: Located<BrokerManifest>[];
  triggers: Located<TriggerManifest>[];
  configMaps: Located<ConfigMapManifest>[];
}

/** Parses YAML texts (multi-document) into validated resources. Synchronous; used by `loadResources`. */
export function parseResources(sources: readonly SourceText[]): LoadedResources {
  const found: Findings = { issues: [], warnings: [] };
  const manifests = parseManifests(sources, found);
  const brokers = resolveBrokers(manifests, found);
  const triggers = resolveTriggers(manifests.triggers, brokers, found);
  throwIfIssues(found.issues, sources);
  return {
    brokers: [...brokers.values()],
    triggers: [...triggers.values()],
    files: sources.map((s) => s.file),
    warnings: found.warnings,
  };
}

/** Every Broker, Trigger and ConfigMap document, schema-checked; other kinds are skipped. */
function parseManifests(sources: readonly SourceText[], { issues }: Findings): ParsedManifests {
  const brokers: Located<BrokerManifest>[] = [];
  const triggers: Located<TriggerManifest>[] = [];
  const configMaps: Located<ConfigMapManifest>[] = [];
  for (const { file, text } of sources) {
    const lineCounter = new LineCounter();
    const docs = parseAllDocuments(text, { prettyErrors: false, lineCounter });
    if (!Array.isArray(docs)) continue; // an empty stream
    docs.forEach((doc, i) => {
      const location = { file, document: i + 1 };
      if (doc.errors.length > 0) {
        // The first error is the mistake; the parser's later ones in the document follow from it.
        issues.push({ ...location, path: '', ...yamlSyntaxIssue(doc.errors[0]!, text, lineCounter) });
        return;
      }
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) return; // empty document
      if (typeof value !== 'object' || Array.isArray(value)) {
        issues.push({ ...location, path: '', message: 'expected a Kubernetes resource (a mapping)' });
        return;
      }
      const kind = (value as { kind?: unknown }).kind;
      const name = (value as { metadata?: { name?: unknown } }).metadata?.name;
      const label = `${String(kind)} ${typeof name === 'string' ? name : '(unnamed)'}`;
      const check = <S extends z.ZodType>(schema: S): z.output<S> | undefined => {
        const res = schema.safeParse(value);
        if (res.success) return res.data;
        for (const iss of res.error.issues) {
          issues.push({ ...location, resource: label, path: formatPath(iss.path), message: iss.message });
        }
        return undefined;
      };
      if (kind === 'Broker') {
        const m = check(brokerSchema);
        if (m) brokers.push({ manifest: m, location });
      } else if (kind === 'Trigger') {
        const m = check(triggerSchema);
        if (m) triggers.push({ manifest: m, location });
      } else if (kind === 'ConfigMap') {
        const m = check(configMapSchema);
        if (m) configMaps.push({ manifest: m, location });
      }
      // Other kinds (Knative Services, SinkBindings, ...) may share the folder; they are not ours.
    });
  }
  return { brokers, triggers, configMaps };
}

/**
 * A Broker's or Trigger's `namespace/name` and how messages name it (`Trigger ns/name`), or undefined when
 * `seen` has that name already (a duplicate: the issue is added).
 */
function identify(
  kind: 'Broker' | 'Trigger',
  { manifest, location }: Located<{ metadata: { name: string; namespace?: string | undefined } }>,
  seen: ReadonlyMap<string, { location: ResourceLocation }>,
  issues: ResourceIssue[],
): { namespace: string; name: string; key: string; resource: string } | undefined {
  const namespace = manifest.metadata.namespace ?? DEFAULT_NAMESPACE;
  const name = manifest.metadata.name;
  const key = `${namespace}/${name}`;
  const resource = `${kind} ${key}`;
  const prev = seen.get(key);
  if (prev) {
    issues.push({
      ...location,
      resource,
      path: 'metadata.name',
      message: `duplicate ${kind} (also in ${prev.location.file} document ${prev.location.document})`,
    });
    return undefined;
  }
  return { namespace, name, key, resource };
}

/** Brokers by `namespace/name`: duplicates refused, delivery and config resolved. */
function resolveBrokers(
  { brokers, configMaps }: ParsedManifests,
  { issues, warnings }: Findings,
): Map<string, BrokerResource> {
  const brokerResources = new Map<string, BrokerResource>();
  for (const located of brokers) {
    const { manifest, location } = located;
    const id = identify('Broker', located, brokerResources, issues);
    if (!id) continue;
    const { namespace, name, key, resource } = id;
    const delivery = manifest.spec?.delivery;
    if (delivery) {
      for (const d of resolveDelivery(delivery).issues) {
        issues.push({ ...location, resource, path: `spec.delivery.${d.field}`, message: d.message });
      }
      checkDestination(delivery.deadLetterSink, 'spec.delivery.deadLetterSink', location, resource, issues);
    }
    const config = brokerConfig(manifest, namespace, configMaps, location, resource, issues, warnings);
    brokerResources.set(key, {
      namespace,
      name,
      annotations: manifest.metadata.annotations ?? {},
      delivery,
      config,
      location,
    });
  }
  return brokerResources;
}

/**
 * Triggers by `namespace/name`: duplicates refused, broker, filters, delivery, destinations and annotations
 * checked; a Trigger with a problem is left out (its problems are in `issues`).
 */
function resolveTriggers(
  triggers: readonly Located<TriggerManifest>[],
  brokerResources: ReadonlyMap<string, BrokerResource>,
  { issues, warnings }: Findings,
): Map<string, TriggerResource> {
  const triggerResources = new Map<string, TriggerResource>();
  for (const located of triggers) {
    const { manifest, location } = located;
    const id = identify('Trigger', located, triggerResources, issues);
    if (!id) continue;
    const { namespace, key } = id;
    const trigger = resolveTrigger(manifest, namespace, location, brokerResources, { issues, warnings });
    if (trigger) triggerResources.set(key, trigger);
  }
  return triggerResources;
}

/** One Trigger, or undefined when it has a problem (added to `issues`). */
function resolveTrigger(
  manifest: TriggerManifest,
  namespace: string,
  location: ResourceLocation,
  brokerResources: ReadonlyMap<string, BrokerResource>,
  { issues, warnings }: Findings,
): TriggerResource | undefined {
  const name = manifest.metadata.name;
  const resource = `Trigger ${namespace}/${name}`;
  const before = issues.length;
  const spec = manifest.spec;
  const broker = brokerResources.get(`${namespace}/${spec.broker}`);
  if (!broker) {
    const known = [...brokerResources.keys()].filter((k) => k.startsWith(`${namespace}/`));
    issues.push({
      ...location,
      resource,
      path: 'spec.broker',
      message: `unknown broker "${spec.broker}" in namespace "${namespace}"${known.length ? ` (known: ${known.map((k) => k.split('/')[1]).join(', ')})` : ' (no Broker in this namespace)'}`,
    });
  }
  const filterSpec = { filter: spec.filter, filters: spec.filters };
  const filter = compileTriggerFilter(filterSpec);
  for (const f of filter.issues)
    issues.push({ ...location, resource, path: formatPath(f.path), message: f.message });
  for (const w of filter.warnings) warnings.push(`${resource}: ${formatPath(w.path)}: ${w.message}`);

  if (spec.delivery) {
    for (const d of resolveDelivery(spec.delivery).issues) {
      issues.push({ ...location, resource, path: `spec.delivery.${d.field}`, message: d.message });
    }
  }
  checkDestination(spec.subscriber, 'spec.subscriber', location, resource, issues);
  checkDestination(spec.delivery?.deadLetterSink, 'spec.delivery.deadLetterSink', location, resource, issues);

  const annotations = manifest.metadata.annotations ?? {};
  const deliveryOrder = annotationEnum<DeliveryOrder>(
    annotations,
    DELIVERY_ORDER_ANNOTATION,
    ['ordered', 'unordered'],
    'unordered',
    location,
    resource,
    issues,
  );
  const initialOffset = initialOffsetAnnotation(annotations, location, resource, issues);
  if (issues.length > before) return undefined;

  const delivery = resolveDelivery(mergeDelivery(broker?.delivery, spec.delivery)).options;
  return {
    namespace,
    name,
    broker: spec.broker,
    annotations,
    subscriber: spec.subscriber,
    delivery,
    deliveryOrder,
    initialOffset,
    filterSpec: {
      ...(spec.filter
        ? { filter: spec.filter.attributes ? { attributes: spec.filter.attributes } : {} }
        : {}),
      ...(spec.filters ? { filters: spec.filters } : {}),
    },
    filter,
    groupId: triggerGroupId(namespace, name),
    location,
  };
}

/** Throws every issue, in file and document order (schema problems are found before cross-resource ones). */
function throwIfIssues(issues: readonly ResourceIssue[], sources: readonly SourceText[]): void {
  if (issues.length > 0) {
    const order = new Map(sources.map((s, i) => [s.file, i]));
    const sorted = issues
      .map((issue, i) => ({ issue, i }))
      .sort(
        (a, b) =>
          (order.get(a.issue.file) ?? 0) - (order.get(b.issue.file) ?? 0) ||
          a.issue.document - b.issue.document ||
          a.i - b.i,
      )
      .map((x) => x.issue);
    throw new ResourceValidationError(sorted);
  }
}

function annotationEnum<T extends string>(
  annotations: Record<string, string>,
  key: string,
  allowed: readonly T[],
  fallback: T,
  location: ResourceLocation,
  resource: string,
  issues: ResourceIssue[],
): T {
  const v = annotations[key];
  if (v === undefined) return fallback;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  issues.push({
    ...location,
    resource,
    path: `metadata.annotations["${key}"]`,
    message: `expected ${allowed.map((a) => `"${a}"`).join(' or ')}, got "${v}"`,
  });
  return fallback;
}

/** `tributary.dev/initial-offset`: `earliest`, `latest` (the default) or an RFC 3339 time. */
function initialOffsetAnnotation(
  annotations: Record<string, string>,
  location: ResourceLocation,
  resource: string,
  issues: ResourceIssue[],
): InitialOffset {
  const v = annotations[INITIAL_OFFSET_ANNOTATION];
  if (v === undefined) return 'latest';
  if (v === 'earliest' || v === 'latest') return v;
  const time = parseRfc3339(v);
  if (time) return time;
  issues.push({
    ...location,
    resource,
    path: `metadata.annotations["${INITIAL_OFFSET_ANNOTATION}"]`,
    message: `expected "earliest", "latest" or an RFC 3339 time (e.g. 2026-01-31T09:00:00Z), got "${v}"`,
  });
  return 'latest';
}

/**
 * An RFC 3339 date-time (section 5.6: `T` or space separator, seconds required, `Z` or a numeric offset),
 * or undefined. `Date.parse` alone takes far more (and local times), so the shape is checked first.
 */
export function parseRfc3339(value: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec] = m.map(Number) as number[];
  if (mo! < 1 || mo! > 12 || d! < 1 || d! > 31 || h! > 23 || mi! > 59 || sec! > 60) return undefined;
  const ms = Date.parse(value.replace(' ', 'T').toUpperCase());
  if (Number.isNaN(ms)) return undefined;
  // Date.parse rolls 2026-02-31 over to March: refuse a day the month does not have.
  const day = new Date(Date.UTC(y!, mo! - 1, d!));
  if (day.getUTCMonth() !== mo! - 1) return undefined;
  return new Date(ms);
}

/** A `uri` without a `ref` must be an absolute http(s) URL; with a `ref` it may be relative to it. */
function checkDestination(
  dest: DestinationManifest | undefined,
  path: string,
  location: ResourceLocation,
  resource: string,
  issues: ResourceIssue[],
): void {
  if (!dest?.uri) return;
  if (dest.ref) return;
  let url: URL | undefined;
  try {
    url = new URL(dest.uri);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    issues.push({
      ...location,
      resource,
      path: `${path}.uri`,
      message: `"${dest.uri}" is not an absolute http(s) URL`,
    });
  }
}

function brokerConfig(
  broker: BrokerManifest,
  namespace: string,
  configMaps: Located<ConfigMapManifest>[],
  location: ResourceLocation,
  resource: string,
  issues: ResourceIssue[],
  warnings: string[],
): KafkaBrokerConfig {
  const ref = broker.spec?.config;
  const wanted = ref?.name ?? KAFKA_BROKER_CONFIG;
  if (ref && ref.kind !== 'ConfigMap') {
    warnings.push(`${resource}: spec.config refers to a ${ref.kind}; only a ConfigMap is read`);
    return {};
  }
  const candidates = configMaps.filter((c) => c.manifest.metadata.name === wanted);
  const found =
    candidates.find(
      (c) => (c.manifest.metadata.namespace ?? DEFAULT_NAMESPACE) === (ref?.namespace ?? namespace),
    ) ?? candidates[0];
  if (!found) {
    if (ref) warnings.push(`${resource}: ConfigMap "${wanted}" is not in the folder; using defaults`);
    return {};
  }
  const data = found.manifest.data ?? {};
  const cfg: KafkaBrokerConfig = { configMap: wanted };
  const int = (key: string, min: number): number | undefined => {
    const v = data[key];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      issues.push({
        ...found.location,
        resource: `ConfigMap ${wanted}`,
        path: `data["${key}"]`,
        message: `expected an integer >= ${min}, got "${v}"`,
      });
      return undefined;
    }
    return n;
  };
  const partitions = int('default.topic.partitions', 1);
  const replicationFactor = int('default.topic.replication.factor', 1);
  if (partitions !== undefined) cfg.partitions = partitions;
  if (replicationFactor !== undefined) cfg.replicationFactor = replicationFactor;
  const servers = data['bootstrap.servers'];
  if (servers)
    cfg.bootstrapServers = servers
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  void location;
  return cfg;
}
