import { formatIssue, type ResourceIssue } from '@tributary/eventing';

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
