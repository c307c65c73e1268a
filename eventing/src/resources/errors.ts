import { TributaryError } from '@tributary/shared';

export interface ResourceIssue {
  file: string;
  /** 1-based position of the YAML document in the file (0 when the issue concerns the whole file). */
  document: number;
  /** Field path inside the document, e.g. `spec.filters[0].exact`. */
  path: string;
  message: string;
  /** `Trigger default/my-trigger`, when known. */
  resource?: string;
  /** 1-based line and column in the file, for a YAML syntax error. */
  line?: number;
  column?: number;
}

export function formatIssue(i: ResourceIssue): string {
  const file = i.line ? `${i.file}:${i.line}:${i.column ?? 1}` : i.file;
  const where = i.document > 0 ? `${file} (document ${i.document})` : file;
  const what = i.resource ? ` ${i.resource}` : '';
  const path = i.path ? ` ${i.path}:` : '';
  return `${where}${what}:${path} ${i.message}`;
}

/** Invalid Broker/Trigger YAML; the message lists every problem with its file, document and field. */
export class ResourceValidationError extends TributaryError {
  readonly issues: readonly ResourceIssue[];
  constructor(issues: readonly ResourceIssue[]) {
    super(
      `invalid resources (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n  ${issues.map(formatIssue).join('\n  ')}`,
      { code: 'RESOURCES_INVALID' },
    );
    this.issues = issues;
  }
}

/** `['spec', 'filters', 0, 'exact']` -> `spec.filters[0].exact` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else {
      const s = String(p);
      out += /^[A-Za-z_][\w-]*$/.test(s) ? (out ? `.${s}` : s) : `[${JSON.stringify(s)}]`;
    }
  }
  return out;
}
