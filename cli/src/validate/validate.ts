import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  DEFAULT_NAMESPACE,
  loadServiceSpec,
  parseResources,
  ResourceValidationError,
  type SourceText,
  yamlFilesIn,
} from '@tributary/eventing';
import { stringify } from 'yaml';
import { devProject } from '../dev/project.js';
import { checkDestination, getPath, type KnownTargets } from './destinations.js';
import {
  type Doc,
  isEventingDoc,
  isKnativeService,
  knownFunctionServices,
  type LoadedFile,
  readYaml,
} from './files.js';
import type { Finding, ValidateResult } from './findings.js';
import { checkAttributeMap, checkFilter } from './typos.js';

/**
 * Validates the YAML in `paths` (files or folders); never throws for bad YAML, returns findings. The project
 * (default: `cwd`) gives the context: its functions' Services and its eventing/config Brokers.
 */
export function validatePaths(paths: readonly string[], cwd = process.cwd(), project = cwd): ValidateResult {
  const findings: Finding[] = [];
  const files = readFiles(paths, cwd, findings);
  const { copies, primary, definedElsewhere } = separateCopies(files);
  const context = checkResources(primary, copies, definedElsewhere, cwd, project, findings);
  const services = checkServices(files, cwd, project, findings);
  const all = files.flatMap((f) => f.docs);
  checkReferences(all, context, services, findings);
  sortFindings(findings, files);
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

/** Every YAML file of `paths` (folders read recursively), each once; a missing path is an error finding. */
function readFiles(paths: readonly string[], cwd: string, findings: Finding[]): LoadedFile[] {
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
  return files;
}

/**
 * A function's trigger.yaml whose Triggers another file already defines is that file's copy: the
 * copy is compared with it instead of being loaded twice (as `tributary dev` skips it).
 */
function separateCopies(files: readonly LoadedFile[]): {
  copies: LoadedFile[];
  primary: LoadedFile[];
  definedElsewhere: Map<string, Doc>;
} {
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
  return { copies, primary, definedElsewhere };
}

/**
 * 1. Brokers, Triggers, ConfigMaps through the broker's own loader. Triggers checked without their Broker
 * (a lone trigger.yaml) are loaded against the project's Brokers, or a generated `default` one, as
 * `tributary dev` does; those context files are returned.
 */
function checkResources(
  primary: readonly LoadedFile[],
  copies: readonly LoadedFile[],
  definedElsewhere: ReadonlyMap<string, Doc>,
  cwd: string,
  project: string,
  findings: Finding[],
): LoadedFile[] {
  const context = primary.some((f) => f.docs.some((d) => d.kind === 'Broker'))
    ? []
    : contextBrokers(project, cwd);
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
  return context;
}

/**
 * 2. Knative Services, as the local runtime loads them. Returns every known Service: those checked and the
 * project's functions (known subscribers even when their service.yaml is not validated).
 */
function checkServices(
  files: readonly LoadedFile[],
  cwd: string,
  project: string,
  findings: Finding[],
): Map<string, Doc> {
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
  const functionServices = knownFunctionServices(project, cwd);
  for (const [key, d] of functionServices) if (!services.has(key)) services.set(key, d);
  return services;
}

/**
 * 3. References and filters of every Trigger, and Brokers' dead-letter sinks (on the raw YAML, so they are
 * checked even when the loader refused something else).
 */
function checkReferences(
  all: readonly Doc[],
  context: readonly LoadedFile[],
  services: Map<string, Doc>,
  findings: Finding[],
): void {
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
}

/** In file order, then document order, errors before warnings (like a linter). */
function sortFindings(findings: Finding[], files: readonly LoadedFile[]): void {
  const order = new Map(files.map((f, i) => [f.source.file, i]));
  findings.sort(
    (a, b) =>
      (order.get(a.file) ?? -1) - (order.get(b.file) ?? -1) ||
      a.document - b.document ||
      (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1),
  );
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

/** The Brokers of the project's eventing/config, else a generated `default` Broker. */
function contextBrokers(project: string, cwd: string): LoadedFile[] {
  const files = devProject(project).configDirs.flatMap((dir) =>
    yamlFilesIn(dir).map((f) => readYaml(f, cwd)),
  );
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
