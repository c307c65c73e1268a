import { ATTRIBUTE_NAME_RE, type FilterSpec } from '../resources/schema.js';
import { attributeValue, type EventAttributes } from './attributes.js';
import { compileCesqlFilter } from './cesql.js';

/**
 * Trigger filters compiled once into a predicate over an event's context attributes.
 *
 * - `spec.filter.attributes` (exact match on every listed attribute). As in the Knative Kafka broker's
 *   `AttributesFilter`, an entry whose value is `""` is dropped, so it matches any value, including a
 *   missing attribute; a missing attribute otherwise reads as `""` and so never equals a non-empty value.
 * - `spec.filters` (the SubscriptionsAPI): a list whose filters must all match, each object holding
 *   exactly one dialect: `exact`, `prefix`, `suffix` (one attribute each), `all`, `any`, `not`, `cesql`.
 *   When `filters` is present, `filter` is ignored (Knative: "filters takes precedence").
 * - No filter at all matches every event.
 */
export type EventPredicate = (event: EventAttributes) => boolean;

export interface FilterIssue {
  path: (string | number)[];
  message: string;
}

export interface TriggerFilterSpec {
  filter?: { attributes?: Record<string, string> } | undefined;
  filters?: FilterSpec[] | undefined;
}

export interface CompiledFilter {
  predicate: EventPredicate;
  issues: FilterIssue[];
  /** Which form was used: for logs and the README's "which filter wins" rule. */
  kind: 'none' | 'attributes' | 'filters';
}

const MATCH_ALL: EventPredicate = () => true;
const DIALECTS = ['exact', 'prefix', 'suffix', 'all', 'any', 'not', 'cesql'] as const;
type Dialect = (typeof DIALECTS)[number];

/** Compiles a Trigger's filters. `path` prefixes issue paths (default `spec`). */
export function compileTriggerFilter(
  spec: TriggerFilterSpec,
  path: (string | number)[] = ['spec'],
): CompiledFilter {
  const issues: FilterIssue[] = [];
  if (spec.filters !== undefined) {
    const preds = spec.filters.map((f, i) => compileFilter(f, [...path, 'filters', i], issues));
    return { predicate: allOf(preds), issues, kind: 'filters' };
  }
  const attrs = spec.filter?.attributes;
  if (attrs !== undefined) {
    for (const name of Object.keys(attrs)) checkName(name, [...path, 'filter', 'attributes', name], issues);
    return {
      predicate: attributesPredicate(attrs, (given, wanted) => given === wanted),
      issues,
      kind: 'attributes',
    };
  }
  return { predicate: MATCH_ALL, issues, kind: 'none' };
}

/** Compiles one SubscriptionsAPI filter object; issues are appended to `issues`. */
export function compileFilter(
  f: FilterSpec,
  path: (string | number)[],
  issues: FilterIssue[],
): EventPredicate {
  const present = DIALECTS.filter((d) => f[d] !== undefined);
  if (present.length === 0) {
    issues.push({ path, message: `a filter needs exactly one dialect (${DIALECTS.join(', ')}); found none` });
    return MATCH_ALL;
  }
  if (present.length > 1) {
    issues.push({
      path,
      message: `multiple dialects found (${present.join(', ')}); a filter can have only one dialect set`,
    });
    return MATCH_ALL;
  }
  const dialect = present[0] as Dialect;
  const at = [...path, dialect];
  switch (dialect) {
    case 'exact':
      return singleAttribute(f.exact ?? {}, at, issues, (given, wanted) => given === wanted);
    case 'prefix':
      return singleAttribute(f.prefix ?? {}, at, issues, (given, wanted) => given.startsWith(wanted));
    case 'suffix':
      return singleAttribute(f.suffix ?? {}, at, issues, (given, wanted) => given.endsWith(wanted));
    case 'all': {
      const list = f.all ?? [];
      if (list.length === 0) issues.push({ path: at, message: 'all needs at least one filter' });
      return allOf(list.map((sub, i) => compileFilter(sub, [...at, i], issues)));
    }
    case 'any': {
      const list = f.any ?? [];
      if (list.length === 0) issues.push({ path: at, message: 'any needs at least one filter' });
      const preds = list.map((sub, i) => compileFilter(sub, [...at, i], issues));
      return (event) => preds.some((p) => p(event));
    }
    case 'not': {
      const inner = compileFilter(f.not as FilterSpec, at, issues);
      return (event) => !inner(event);
    }
    case 'cesql': {
      const expr = f.cesql ?? '';
      if (expr.trim() === '') {
        issues.push({ path: at, message: 'cesql expression is empty' });
        return MATCH_ALL;
      }
      const res = compileCesqlFilter(expr);
      if (!res.ok) {
        issues.push({ path: at, message: `invalid CESQL: ${res.error}` });
        return MATCH_ALL;
      }
      return res.predicate;
    }
  }
}

function singleAttribute(
  map: Record<string, string>,
  path: (string | number)[],
  issues: FilterIssue[],
  match: (given: string, wanted: string) => boolean,
): EventPredicate {
  const names = Object.keys(map);
  if (names.length !== 1) {
    issues.push({
      path,
      message:
        names.length === 0
          ? 'expected one attribute, found none'
          : `multiple items found (${names.join(', ')}); can have only one key-value`,
    });
    return MATCH_ALL;
  }
  checkName(names[0] as string, [...path, names[0] as string], issues);
  return attributesPredicate(map, match);
}

/**
 * The Kafka broker's AttributesFilter: entries with an empty value are dropped (match anything); a
 * missing attribute reads as "" and is compared like any other value.
 */
function attributesPredicate(
  attrs: Record<string, string>,
  match: (given: string, wanted: string) => boolean,
): EventPredicate {
  const entries = Object.entries(attrs).filter(([, wanted]) => wanted !== '');
  if (entries.length === 0) return MATCH_ALL;
  return (event) => {
    for (const [name, wanted] of entries) {
      if (!match(attributeValue(event, name) ?? '', wanted)) return false;
    }
    return true;
  };
}

function allOf(preds: EventPredicate[]): EventPredicate {
  if (preds.length === 0) return MATCH_ALL;
  if (preds.length === 1) return preds[0] as EventPredicate;
  return (event) => preds.every((p) => p(event));
}

function checkName(name: string, path: (string | number)[], issues: FilterIssue[]): void {
  if (!ATTRIBUTE_NAME_RE.test(name)) {
    issues.push({
      path,
      message: `invalid attribute name "${name}": must start with a letter and contain only lowercase letters and digits`,
    });
  }
}
