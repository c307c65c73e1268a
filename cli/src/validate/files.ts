import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { DEFAULT_NAMESPACE, type SourceText } from '@tributary/eventing';

import { parseAllDocuments } from 'yaml';
import { devProject } from '../dev/project.js';

export interface Doc {
  file: string;
  document: number;
  value: Record<string, unknown>;
  kind: string | undefined;
  apiVersion: string | undefined;
  namespace: string;
  name: string | undefined;
}

export interface LoadedFile {
  source: SourceText;
  /** Absolute path. */
  path: string;
  docs: Doc[];
  /** A function package's trigger.yaml (services/functions/<name>/trigger.yaml). */
  functionTrigger: boolean;
}

/**
 * The project's eventing/config and each of its functions' trigger.yaml and service.yaml, those that exist
 * (the project as `tributary dev` sees it: {@link devProject}).
 */
export function defaultPaths(projectDir: string): string[] {
  const { configDirs, functionsDir: functions } = devProject(projectDir);
  const out: string[] = [...configDirs];
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

export function readYaml(path: string, cwd: string): LoadedFile {
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

export function isEventingDoc(d: Doc): boolean {
  return d.kind === 'Broker' || d.kind === 'Trigger' || d.kind === 'ConfigMap';
}

export function isKnativeService(d: Doc): boolean {
  return d.kind === 'Service' && (d.apiVersion ?? '').startsWith('serving.knative.dev/');
}

/** The Knative Services of the project's functions (known subscribers), by namespace/name. */
export function knownFunctionServices(projectDir: string, cwd: string): Map<string, Doc> {
  const out = new Map<string, Doc>();
  const dir = devProject(projectDir).functionsDir;
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
