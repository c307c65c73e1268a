// The allow-list of `pnpm test:conformance`: differences from the reference implementations that are known,
// explained and accepted. Each difference found is attributed to a rule by `explain` (by its cause, not by
// case); a rule counts as allowed only when allow-list.yaml lists it with a reason.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

export interface Difference {
  category: 'cesql' | 'filter' | 'kafka';
  name: string;
  what: string;
  input: unknown;
  ours: unknown;
  theirs: unknown;
  rule?: string;
}

export interface AllowListEntry {
  id: string;
  category: string;
  reason: string;
}

export function loadAllowList(): Set<string> {
  const file = new URL('../allow-list.yaml', import.meta.url);
  const entries = parseYaml(readFileSync(file, 'utf8')) as AllowListEntry[];
  for (const e of entries) {
    if (!e.id || !e.reason || e.reason.trim().length < 20) throw new Error(`allow-list.yaml: entry ${e.id ?? '?'} needs an id and a reason`);
  }
  return new Set(entries.map((e) => e.id));
}

/** The rule that explains a difference, or undefined when none does. */
export function explain(d: Difference): string | undefined {
  void d;
  return undefined;
}
