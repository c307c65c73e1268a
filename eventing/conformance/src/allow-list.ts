// The allow-list of `pnpm test:conformance`: differences from the reference implementations that are known,
// explained and accepted. Each difference found is attributed to a rule by `explain` (by its cause, not by
// case); a rule counts as allowed only when allow-list.yaml lists it with a reason.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { isoInstant } from '../../src/filters/attributes.js';

export interface Difference {
  category: 'cesql' | 'filter' | 'kafka';
  name: string;
  what: string;
  input: unknown;
  ours: unknown;
  theirs: unknown;
  rule?: string;
  /** For a filter: the differences of its CESQL expressions on the same event. */
  related?: Difference[];
}

export interface AllowListEntry {
  id: string;
  category: string;
  reason: string;
}

export const ALLOW_LIST_FILE = new URL('../allow-list.yaml', import.meta.url);

export function loadAllowList(): Set<string> {
  const entries = parseYaml(readFileSync(ALLOW_LIST_FILE, 'utf8')) as AllowListEntry[];
  for (const e of entries) {
    if (!e.id || !e.reason || e.reason.trim().length < 20)
      throw new Error(`allow-list.yaml: entry ${e.id ?? '?'} needs an id and a reason`);
  }
  return new Set(entries.map((e) => e.id));
}

interface OurCesql {
  parseError: boolean;
  value?: unknown;
  errorKinds: string[];
  errors: string[];
}
interface TheirCesql {
  parseError?: boolean;
  value?: unknown;
  errorKind?: string;
  panic?: string;
}

function explainCesql(d: Difference): string | undefined {
  const ours = d.ours as OurCesql;
  const theirs = d.theirs as TheirCesql;
  const { expression } = d.input as { expression: string };
  if (ours.errors.some((m) => /implicitly cast integer/.test(m))) return 'cesql-implicit-integer-to-boolean';
  if (ours.errorKinds.includes('math') && ours.errors.some((m) => /overflow/i.test(m)) && !theirs.errorKind)
    return 'cesql-int32-overflow';
  if (/''|""/.test(expression) && d.what === 'different value') return 'cesql-doubled-quote-escape';
  if (
    /\bLIKE\b/i.test(expression) &&
    d.what === 'different value' &&
    !theirs.errorKind &&
    ours.errorKinds.length === 0
  )
    return 'cesql-like-matching';
  if (
    /\b(LENGTH|LEFT|RIGHT|SUBSTRING)\s*\(/i.test(expression) &&
    /[^ -~]/.test(JSON.stringify(d.input)) // any character outside printable ASCII
  )
    return 'cesql-length-in-characters';
  if (theirs.panic && !ours.parseError) return 'cesql-sdk-go-panics';
  if (ours.errorKinds.includes('functionEvaluation') && !theirs.errorKind)
    return 'cesql-function-argument-errors';
  if (!ours.parseError && !theirs.parseError && ours.errorKinds.length > 0 && theirs.errorKind)
    return 'cesql-value-after-error';
  return undefined;
}

interface TriggerInput {
  spec: {
    filter?: { attributes?: Record<string, string> };
    filters?: unknown[];
  };
  event: Record<string, string>;
}

/** Go's RFC3339Nano rendering of an RFC 3339 time (offset kept, trailing zeros trimmed). */
function goTime(t: string): string {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/i.exec(t);
  if (!m) return t;
  const frac = (m[2] ?? '').replace(/0+$/, '');
  const zone = m[3] === '+00:00' || m[3] === '-00:00' ? 'Z' : m[3]!.toUpperCase();
  return `${m[1]}${frac ? `.${frac}` : ''}${zone}`;
}

function touches(spec: unknown, name: string): boolean {
  return JSON.stringify(spec).includes(`"${name}":`);
}

function explainFilter(d: Difference): string | undefined {
  const input = d.input as TriggerInput;
  const ours = d.ours as { valid: boolean; issues: string[] };
  const theirs = d.theirs as { panic?: string; valid?: boolean };
  if (ours.issues.some((m) => /needs a boolean/.test(m)) || /not bool/.test(theirs.panic ?? ''))
    return 'filter-cesql-non-boolean';
  if (ours.issues.some((m) => /unknown function|does not take/.test(m)))
    return 'filter-cesql-unknown-function';
  const usesAttributes =
    !(input.spec.filters && input.spec.filters.length > 0) && input.spec.filter?.attributes;
  if (usesAttributes && Object.values(input.spec.filter!.attributes!).includes(''))
    return 'filter-attributes-empty-value';
  const time = input.event.time;
  if (
    touches(input.spec.filters ?? input.spec.filter, 'time') ||
    (usesAttributes && 'time' in usesAttributes)
  ) {
    if (time === undefined || goTime(time) !== isoInstant(time)) return 'filter-time-as-instant';
  }
  for (const r of d.related ?? []) {
    const rule = explainCesql(r);
    if (rule) return rule;
  }
  return undefined;
}

/** The rule that explains a difference, or undefined when none does. */
export function explain(d: Difference): string | undefined {
  if (d.category === 'cesql') return explainCesql(d);
  if (d.category === 'filter') return explainFilter(d);
  return undefined;
}
