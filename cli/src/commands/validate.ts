import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  DEFAULT_NAMESPACE,
  formatIssue,
  loadServiceSpec,
  parseResources,
  type ResourceIssue,
  ResourceValidationError,
  type SourceText,
} from '@tributary/eventing';
import { catalog, EVENT_TYPE_PREFIX, EVENT_TYPES } from '@tributary/shared';
import { parseAllDocuments, stringify } from 'yaml';
import { type Command, parseOptions } from '../command.js';

/** Repository root (this file is cli/{src,dist}/commands/). */
const REPO_ROOT = resolve(import.meta.dirname, '../../..');

const usage = `usage: tributary validate [paths...]

Checks Knative YAML before it is deployed or run by \`tributary dev\`:
  - Brokers, Triggers and ConfigMaps load (every error names its file, document and field);
  - Knative Services (service.yaml) load as the local runtime reads them;
  - every subscriber.ref / deadLetterSink.ref names a known function Service, Broker or KafkaSink;
  - warnings for a Trigger filter on an unknown event type or on an attribute that is neither a
    CloudEvents attribute nor a known extension, naming the nearest known name.
A function's trigger.yaml that eventing/config also defines (its copy) is compared with that copy.

Arguments:
  paths   YAML files or folders (read recursively). Default: eventing/config and every
          services/functions/*/trigger.yaml and service.yaml

Options:
  -q, --quiet   print only errors and warnings, not the summary
  -h, --help    show this help

Exit status: 0 valid (warnings allowed), 1 errors.`;

/** CloudEvents 1.0 context attributes (spec §3.1, §3.2). */
export const CONTEXT_ATTRIBUTES = [
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'dataschema',
] as const;

/**
 * Extensions Tributary's sources set (DESIGN.md §3), Knative's (`knative*`, matched by prefix too) and
 * the documented CloudEvents extensions a Trigger may reasonably filter on.
 */
export const KNOWN_EXTENSIONS = [
  // db-events
  'schema',
  'table',
  'lsn',
  'txid',
  'partitionkey',
  // storage-events
  'bucket',
  's3eventname',
  // Knative
  'knativebrokerttl',
  'knativeerrordest',
  'knativeerrorcode',
  'knativeerrordata',
  // CloudEvents documented extensions
  'traceparent',
  'tracestate',
  'dataref',
  'sequence',
  'sampledrate',
  'authtype',
  'authid',
  'expirytime',
  'recordedtime',
] as const;

export type Severity = 'error' | 'warning';

export interface Finding {
  severity: Severity;
  file: string;
  /** 1-based YAML document (0: the whole file). */
  document: number;
  resource?: string;
  /** Field path, e.g. `spec.filters[0].exact.type`. */
  path: string;
  message: string;
  /** Line and column of a YAML syntax error. */
  line?: number;
  column?: number;
}

export interface ValidateResult {
  findings: Finding[];
  files: string[];
  counts: { brokers: number; triggers: number; services: number };
}

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check Broker/Trigger/Service YAML and Trigger filters against the event catalog',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseOptions(argv, { quiet: { type: 'boolean', short: 'q' } });
    const paths = positionals.length > 0 ? positionals.map((p) => resolve(p)) : defaultPaths(REPO_ROOT);
    const result = validatePaths(paths);
    // One stream, in file order, like a linter: errors and warnings of one file stay together.
    for (const f of result.findings) io.stdout(formatFinding(f));
    const errors = result.findings.filter((f) => f.severity === 'error').length;
    const warnings = result.findings.length - errors;
    if (!values.quiet) {
      const { brokers, triggers, services } = result.counts;
      io.stdout(
        `${errors > 0 ? 'invalid' : 'valid'}: ${result.files.length} file${plural(result.files.length)}` +
          ` (${brokers} Broker${plural(brokers)}, ${triggers} Trigger${plural(triggers)},` +
          ` ${services} Service${plural(services)}); ${errors} error${plural(errors)},` +
          ` ${warnings} warning${plural(warnings)}`,
      );
    }
    return errors > 0 ? 1 : 0;
  },
};

function plural(n: number): string {
  return n === 1 ? '' : 's';
}

export function formatFinding(f: Finding): string {
  const issue: ResourceIssue = {
    file: f.file,
    document: f.document,
    path: f.path,
    message: f.message,
    ...(f.resource ? { resource: f.resource } : {}),
    ...(f.line ? { line: f.line, column: f.column ?? 1 } : {}),
  };
  return `${f.severity}: ${formatIssue(issue)}`;
}

/** eventing/config and each function's trigger.yaml and service.yaml, those that exist. */
export function defaultPaths(root: string): string[] {
  const out: string[] = [];
  const config = join(root, 'eventing', 'config');
  if (existsSync(config)) out.push(config);
  const functions = join(root, 'services', 'functions');
  if (existsSync(functions)) {
    for (const name of readdirSync(functions).sort()) {
      if (name.startsWith('.')) continue;
      for (const file of ['trigger.yaml', 'service.yaml']) {
        const f = join(functions, name, file);
        if (existsSync(f)) out.push(f);
      }
    }
  }
  return out;
}

interface Doc {
  file: string;
  document: number;
  value: Record<string, unknown>;
  kind: string | undefined;
  apiVersion: string | undefined;
  namespace: string;
  name: string | undefined;
}

interface LoadedFile {
  source: SourceText;
  /** Absolute path. */
  path: string;
  docs: Doc[];
  /** A function package's trigger.yaml (services/functions/<name>/trigger.yaml). */
  functionTrigger: boolean;
}

/** Validates the YAML in `paths` (files or folders); never throws for bad YAML, returns findings. */
export function validatePaths(paths: readonly string[], cwd = process.cwd()): ValidateResult {
  const findings: Finding[] = [];
  const files: LoadedFile[] = [];
  const seen = new Set<string>();
  for (const p of paths) {
    const abs = resolve(cwd, p);
    const st = statSync(abs, { throwIfNoEntry: false });
    if (!st) {
      findings.push({ severity: 'error', file: p, document: 0, path: '', message: 'no such file or folder' });
      continue;
    }
    for (const f of st.isDirectory() ? yamlFilesIn(abs) : [abs]) {
      if (seen.has(f)) continue;
      seen.add(f);
      files.push(readYaml(f, cwd));
    }
  }

  // A function's trigger.yaml whose Triggers another file already defines is that file's copy: the
  // copy is compared with it instead of being loaded twice (as `tributary dev` skips it).
  const definedElsewhere = new Map<string, Doc>();
  for (const f of files) {
    if (f.functionTrigger) continue;
    for (const d of f.docs)
      if (d.kind === 'Trigger' && d.name) definedElsewhere.set(`${d.namespace}/${d.name}`, d);
  }
  const copies: LoadedFile[] = [];
  const primary: LoadedFile[] = [];
  for (const f of files) {
    const triggers = f.docs.filter((d) => d.kind === 'Trigger' && d.name);
    if (
      f.functionTrigger &&
      triggers.length > 0 &&
      triggers.every((d) => definedElsewhere.has(`${d.namespace}/${d.name}`))
    )
      copies.push(f);
    else primary.push(f);
  }

  // 1. Brokers, Triggers, ConfigMaps through the broker's own loader.
  // Triggers checked without their Broker (a lone trigger.yaml) are loaded against the repository's
  // Brokers, or a generated `default` one, as `tributary dev` does.
  const context = primary.some((f) => f.docs.some((d) => d.kind === 'Broker')) ? [] : contextBrokers(cwd);
  const resourceFiles = primary.filter((f) => f.docs.length === 0 || f.docs.some(isEventingDoc));
  findings.push(
    ...loaderIssues([brokerOnlySource(context), ...resourceFiles.map((f) => f.source)]).filter(
      (i) => i.file !== BROKERS_FILE,
    ),
  );
  const brokerOnly = brokerOnlySource([...context, ...primary]);
  for (const copy of copies) {
    // The copy must be valid by itself (with the Brokers it refers to) ...
    const issues = loaderIssues([brokerOnly, copy.source]).filter((i) => i.file === copy.source.file);
    findings.push(...issues);
    // ... and say the same as the Trigger that is deployed.
    for (const d of copy.docs) {
      if (d.kind !== 'Trigger' || !d.name) continue;
      const other = definedElsewhere.get(`${d.namespace}/${d.name}`);
      if (other && !isDeepStrictEqual(comparable(d.value), comparable(other.value))) {
        findings.push({
          severity: 'warning',
          file: copy.source.file,
          document: d.document,
          resource: `Trigger ${d.namespace}/${d.name}`,
          path: '',
          message: `differs from its copy in ${other.file} (document ${other.document}), which \`tributary dev\` and the cluster use`,
        });
      }
    }
  }

  // 2. Knative Services, as the local runtime loads them.
  const services = new Map<string, Doc>();
  for (const f of files) {
    for (const d of f.docs) {
      if (!isKnativeService(d)) continue;
      try {
        loadServiceSpec(f.path);
      } catch (err) {
        findings.push({
          severity: 'error',
          file: f.source.file,
          document: d.document,
          resource: `Service ${d.namespace}/${d.name ?? '(unnamed)'}`,
          path: '',
          message: stripPath((err as Error).message, f.path),
        });
      }
      if (d.name) services.set(`${d.namespace}/${d.name}`, d);
    }
  }
  // Functions of this repository are known subscribers even when their service.yaml is not validated.
  const functionServices = knownFunctionServices(REPO_ROOT, cwd);
  for (const [key, d] of functionServices) if (!services.has(key)) services.set(key, d);

  // 3. References and filters of every Trigger (on the raw YAML, so they are checked even when the loader
  //    refused something else).
  const all = files.flatMap((f) => f.docs);
  const brokers = new Set(
    [...all, ...context.flatMap((f) => f.docs)]
      .filter((d) => d.kind === 'Broker' && d.name)
      .map((d) => `${d.namespace}/${d.name}`),
  );
  const sinks = new Set(
    all.filter((d) => d.kind === 'KafkaSink' && d.name).map((d) => `${d.namespace}/${d.name}`),
  );
  const known: KnownTargets = { services, brokers, sinks };
  for (const d of all) {
    if (d.kind === 'Trigger') findings.push(...checkTrigger(d, known));
    if (d.kind === 'Broker') {
      const dls = getPath(d.value, ['spec', 'delivery', 'deadLetterSink']);
      findings.push(...checkDestination(d, dls, 'spec.delivery.deadLetterSink', known));
    }
  }

  const order = new Map(files.map((f, i) => [f.source.file, i]));
  findings.sort(
    (a, b) =>
      (order.get(a.file) ?? -1) - (order.get(b.file) ?? -1) ||
      a.document - b.document ||
      (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1),
  );
  return {
    findings,
    files: files.map((f) => f.source.file),
    counts: {
      brokers: all.filter((d) => d.kind === 'Broker').length,
      triggers: all.filter((d) => d.kind === 'Trigger').length,
      services: all.filter(isKnativeService).length,
    },
  };
}

function yamlFilesIn(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.startsWith('.') || e.name === 'node_modules' || e.name === 'dist') continue;
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...yamlFilesIn(full));
    else if (/\.ya?ml$/i.test(e.name)) out.push(full);
  }
  return out;
}

function readYaml(path: string, cwd: string): LoadedFile {
  const text = readFileSync(path, 'utf8');
  const file = relative(cwd, path) || path;
  const docs: Doc[] = [];
  parseAllDocuments(text, { prettyErrors: false }).forEach((doc, i) => {
    if (doc.errors.length > 0) return; // the resource loader reports syntax errors with their line
    const value: unknown = doc.toJS();
    if (!value || typeof value !== 'object' || Array.isArray(value)) return;
    const v = value as Record<string, unknown>;
    const metadata = (v.metadata ?? {}) as { name?: unknown; namespace?: unknown };
    docs.push({
      file,
      document: i + 1,
      value: v,
      kind: typeof v.kind === 'string' ? v.kind : undefined,
      apiVersion: typeof v.apiVersion === 'string' ? v.apiVersion : undefined,
      namespace: typeof metadata.namespace === 'string' ? metadata.namespace : DEFAULT_NAMESPACE,
      name: typeof metadata.name === 'string' ? metadata.name : undefined,
    });
  });
  const functionTrigger =
    basename(path) === 'trigger.yaml' && basename(resolve(path, '..', '..')) === 'functions';
  return { source: { file, text }, path, docs, functionTrigger };
}

function isEventingDoc(d: Doc): boolean {
  return d.kind === 'Broker' || d.kind === 'Trigger' || d.kind === 'ConfigMap';
}

function isKnativeService(d: Doc): boolean {
  return d.kind === 'Service' && (d.apiVersion ?? '').startsWith('serving.knative.dev/');
}

function loaderIssues(sources: SourceText[]): Finding[] {
  if (sources.length === 0) return [];
  try {
    parseResources(sources);
    return [];
  } catch (err) {
    if (!(err instanceof ResourceValidationError)) throw err;
    return err.issues.map((i) => ({
      severity: 'error' as const,
      file: i.file,
      document: i.document,
      path: i.path,
      message: i.message,
      ...(i.resource ? { resource: i.resource } : {}),
      ...(i.line ? { line: i.line, column: i.column ?? 1 } : {}),
    }));
  }
}

const BROKERS_FILE = '(brokers)';

/** The Brokers and ConfigMaps of `files` as one synthetic source (to load Triggers against). */
function brokerOnlySource(files: readonly LoadedFile[]): SourceText {
  const docs = files.flatMap((f) => f.docs).filter((d) => d.kind === 'Broker' || d.kind === 'ConfigMap');
  return { file: BROKERS_FILE, text: docs.map((d) => stringify(d.value)).join('---\n') };
}

/** The Brokers of the repository's eventing/config, else a generated `default` Broker. */
function contextBrokers(cwd: string): LoadedFile[] {
  const dir = join(REPO_ROOT, 'eventing', 'config');
  const files = existsSync(dir) ? yamlFilesIn(dir).map((f) => readYaml(f, cwd)) : [];
  if (files.some((f) => f.docs.some((d) => d.kind === 'Broker'))) return files;
  const text = 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n';
  return [
    {
      source: { file: BROKERS_FILE, text },
      path: BROKERS_FILE,
      functionTrigger: false,
      docs: [
        {
          file: BROKERS_FILE,
          document: 1,
          value: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default' } },
          kind: 'Broker',
          apiVersion: 'eventing.knative.dev/v1',
          namespace: DEFAULT_NAMESPACE,
          name: 'default',
        },
      ],
    },
  ];
}

/** A Trigger without the fields its copy may legitimately leave out (the namespace, comments). */
function comparable(value: Record<string, unknown>): unknown {
  const metadata = { ...((value.metadata ?? {}) as Record<string, unknown>) };
  if (metadata.namespace === DEFAULT_NAMESPACE) delete metadata.namespace;
  return { ...value, metadata };
}

function stripPath(message: string, path: string): string {
  return message
    .split(`${path} `)
    .join('')
    .split(path)
    .join('')
    .replace(/^\s*\(document \d+\)\s*:?\s*/, '');
}

function knownFunctionServices(root: string, cwd: string): Map<string, Doc> {
  const out = new Map<string, Doc>();
  const dir = join(root, 'services', 'functions');
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    const f = join(dir, name, 'service.yaml');
    if (!existsSync(f)) continue;
    for (const d of readYaml(f, cwd).docs)
      if (isKnativeService(d) && d.name) out.set(`${d.namespace}/${d.name}`, d);
  }
  return out;
}

interface KnownTargets {
  services: Map<string, Doc>;
  brokers: Set<string>;
  sinks: Set<string>;
}

function getPath(value: unknown, path: readonly string[]): unknown {
  let v = value;
  for (const p of path) {
    if (!v || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

function checkTrigger(d: Doc, known: KnownTargets): Finding[] {
  const out: Finding[] = [];
  out.push(...checkDestination(d, getPath(d.value, ['spec', 'subscriber']), 'spec.subscriber', known));
  out.push(
    ...checkDestination(
      d,
      getPath(d.value, ['spec', 'delivery', 'deadLetterSink']),
      'spec.delivery.deadLetterSink',
      known,
    ),
  );
  const resource = `Trigger ${d.namespace}/${d.name ?? '(unnamed)'}`;
  const warn = (path: string, message: string) =>
    out.push({ severity: 'warning', file: d.file, document: d.document, resource, path, message });
  const attributes = getPath(d.value, ['spec', 'filter', 'attributes']);
  if (attributes && typeof attributes === 'object') {
    checkAttributeMap(attributes as Record<string, unknown>, 'spec.filter.attributes', 'exact', warn);
  }
  const filters = getPath(d.value, ['spec', 'filters']);
  if (Array.isArray(filters))
    for (const [i, f] of filters.entries()) checkFilter(f, `spec.filters[${i}]`, warn);
  return out;
}

type Warn = (path: string, message: string) => void;

/** One `spec.filters` entry: exact/prefix/suffix maps, all/any lists, not, cesql (not inspected). */
function checkFilter(filter: unknown, path: string, warn: Warn): void {
  if (!filter || typeof filter !== 'object') return;
  for (const [dialect, body] of Object.entries(filter as Record<string, unknown>)) {
    const at = `${path}.${dialect}`;
    if (dialect === 'exact' || dialect === 'prefix' || dialect === 'suffix') {
      if (body && typeof body === 'object')
        checkAttributeMap(body as Record<string, unknown>, at, dialect, warn);
    } else if ((dialect === 'all' || dialect === 'any') && Array.isArray(body)) {
      for (const [i, f] of body.entries()) checkFilter(f, `${at}[${i}]`, warn);
    } else if (dialect === 'not') {
      checkFilter(body, at, warn);
    }
    // cesql: @tributary/eventing does not expose the parsed expression, so its attributes are not checked.
  }
}

function checkAttributeMap(
  map: Record<string, unknown>,
  path: string,
  dialect: 'exact' | 'prefix' | 'suffix',
  warn: Warn,
): void {
  for (const [name, value] of Object.entries(map)) {
    const at = `${path}.${name}`;
    const attr = checkAttributeName(name);
    if (attr) warn(at, attr);
    if (name === 'type' && typeof value === 'string') {
      const t = checkEventType(value, dialect);
      if (t) warn(at, t);
    }
  }
}

/** A warning when `name` is neither a CloudEvents context attribute nor a known extension. */
export function checkAttributeName(name: string): string | undefined {
  const known: readonly string[] = [...CONTEXT_ATTRIBUTES, ...KNOWN_EXTENSIONS];
  if (known.includes(name) || name.startsWith('knative')) return undefined;
  const near = nearest(name, known);
  return near
    ? `attribute "${name}" is not a CloudEvents attribute nor a known extension: did you mean "${near}"?`
    : `attribute "${name}" is not a CloudEvents attribute nor a known extension (fine if your events carry this custom extension)`;
}

/** Every event type the catalog knows: DESIGN.md §3 types and any registered schema. */
export function knownEventTypes(): string[] {
  return [...new Set<string>([...Object.values(EVENT_TYPES), ...catalog.types()])].sort();
}

/** Application events (e.g. on-user-created's `dev.tributary.app.welcome.requested`) are not in the catalog. */
const APP_TYPE_PREFIX = `${EVENT_TYPE_PREFIX}app.`;

/**
 * A warning when a filter on `type` cannot match a catalog type: an exact type that is close to a catalog
 * type (a likely typo) or under `dev.tributary.` (except the `dev.tributary.app.` namespace of application
 * events) but not in the catalog, or a `dev.tributary.` prefix no catalog type starts with. Other types are
 * the application's own.
 */
export function checkEventType(value: string, dialect: 'exact' | 'prefix' | 'suffix'): string | undefined {
  if (value === '') return undefined; // Knative: an empty value matches any (Kafka broker semantics)
  const types = knownEventTypes();
  if (dialect === 'suffix') return undefined;
  if (dialect === 'prefix') {
    if (!value.startsWith(EVENT_TYPE_PREFIX) || value.startsWith(APP_TYPE_PREFIX)) return undefined;
    if (types.some((t) => t.startsWith(value))) return undefined;
    const near = nearest(value, [
      ...new Set(
        types.flatMap((t) => t.split('.').map((_, i, parts) => `${parts.slice(0, i + 1).join('.')}.`)),
      ),
    ]);
    return `no known event type starts with "${value}"${near ? `: did you mean "${near}"?` : ''}`;
  }
  if (types.includes(value)) return undefined;
  const near = nearest(value, types);
  if (!near && (!value.startsWith(EVENT_TYPE_PREFIX) || value.startsWith(APP_TYPE_PREFIX))) return undefined;
  return `type "${value}" is not in the event catalog${near ? `: did you mean "${near}"?` : ''}`;
}

/**
 * The candidate closest to `word` by Damerau-Levenshtein distance (optimal string alignment: an adjacent
 * transposition counts as one edit), when it is close enough to be a typo: at most 1 edit for words of up
 * to 4 characters, 2 up to 12, then a sixth of the length.
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const limit = word.length <= 4 ? 1 : word.length <= 12 ? 2 : Math.floor(word.length / 6);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    if (c === word) continue;
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** Damerau-Levenshtein distance, optimal string alignment variant. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i]!;
      const prev = d[i - 1]!;
      let v = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      row[j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** `subscriber` / `deadLetterSink`: a `ref` must name something that exists. */
function checkDestination(d: Doc, dest: unknown, path: string, known: KnownTargets): Finding[] {
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
