import { ATTRIBUTE_NAME_RE, type FilterSpec } from '../resources/schema.js';
import { ALWAYS_PRESENT, attributeValue, type EventAttributes } from './attributes.js';
import { compileCesqlFilter } from './cesql.js';

/**
 * Trigger filters compiled once into a predicate over an event's context attributes, with Knative's
 * meaning (knative.dev/eventing v0.48: `pkg/broker/filter` `filterEvent`, `pkg/eventfilter`, and the
 * Trigger webhook `pkg/apis/eventing/v1/trigger_validation.go`).
 *
 * - `spec.filters` is used when it is a non-empty list; otherwise `spec.filter.attributes`; otherwise every
 *   event matches. So `filters: []` next to `filter.attributes` leaves the attributes filter in charge.
 * - `spec.filter.attributes` (exact match on every listed attribute). As in the Knative Kafka broker's
 *   `AttributesFilter` (DESIGN.md §4), an entry whose value is `""` is dropped, so it matches any value,
 *   including a missing attribute; a missing attribute otherwise reads as `""`.
 * - `spec.filters` (the SubscriptionsAPI): every filter of the list must match. A filter object holds one
 *   dialect (`exact`, `prefix`, `suffix`, `all`, `any`, `not`, `cesql`; an empty map, list or string counts
 *   as absent). `exact` / `prefix` / `suffix` maps may hold several attributes, all of which must match.
 * - Knative's filters have three outcomes: pass, fail, and "no filter" (a filter it skips). A filter object
 *   with no dialect, or an `exact` / `prefix` / `suffix` map with an empty key or value, is skipped (it
 *   is left out of its list, with a warning); `not` of a skipped filter, and `all` / `any` whose
 *   members all say "no filter", say "no filter" too, and only a final "fail" drops the event.
 */
export type EventPredicate = (event: EventAttributes) => boolean;

export interface FilterIssue {
  path: (string | number)[];
  message: string;
}

export interface TriggerFilterSpec {
  filter?: { attributes?: Record<string, string> | null | undefined } | null | undefined;
  filters?: FilterSpec[] | null | undefined;
}

export interface CompiledFilter {
  predicate: EventPredicate;
  issues: FilterIssue[];
  /** Filters Knative would skip (they neither pass nor fail an event), e.g. `exact: {type: ""}`. */
  warnings: FilterIssue[];
  /** Which form was used: for logs and the README's "which filter wins" rule. */
  kind: 'none' | 'attributes' | 'filters';
}

/** Knative's `eventfilter.FilterResult`. */
export const PASS = 0;
export const FAIL = 1;
export const NO_FILTER = 2;
export type FilterResult = typeof PASS | typeof FAIL | typeof NO_FILTER;
/** A materialized filter (Knative `eventfilter.Filter`). */
export type FilterNode = (event: EventAttributes) => FilterResult;

const MATCH_ALL: EventPredicate = () => true;
const NONE: FilterNode = () => NO_FILTER;

interface Context {
  issues: FilterIssue[];
  warnings: FilterIssue[];
}

/** Compiles a Trigger's filters. `path` prefixes issue paths (default `spec`). */
export function compileTriggerFilter(
  spec: TriggerFilterSpec,
  path: (string | number)[] = ['spec'],
): CompiledFilter {
  const ctx: Context = { issues: [], warnings: [] };
  // Validation (the webhook) covers both forms, whichever one the dispatcher then uses.
  const attrs = spec.filter?.attributes ?? undefined;
  if (attrs) {
    for (const name of Object.keys(attrs)) checkName(name, [...path, 'filter', 'attributes', name], ctx);
  }
  const filters = spec.filters ?? undefined;
  const nodes = filters ? materializeList(filters, [...path, 'filters'], ctx) : [];
  const result = (predicate: EventPredicate, kind: CompiledFilter['kind']): CompiledFilter => ({
    predicate,
    issues: ctx.issues,
    warnings: ctx.warnings,
    kind,
  });
  if (filters && filters.length > 0) {
    const node = allNode(nodes);
    return result((event) => node(event) !== FAIL, 'filters');
  }
  if (spec.filter) {
    if (!attrs) return result(MATCH_ALL, 'attributes');
    return result(attributesPredicate(attrs), 'attributes');
  }
  return result(MATCH_ALL, 'none');
}

/**
 * Compiles one SubscriptionsAPI filter object; issues are appended to `issues`. The predicate is true
 * unless the filter fails the event (a skipped filter passes everything).
 */
export function compileFilter(
  f: FilterSpec,
  path: (string | number)[],
  issues: FilterIssue[],
  warnings: FilterIssue[] = [],
): EventPredicate {
  const node = materialize(f, path, { issues, warnings }) ?? NONE;
  return (event) => node(event) !== FAIL;
}

/** Knative's `MaterializeFiltersList`: skipped filters are left out. */
function materializeList(list: FilterSpec[], path: (string | number)[], ctx: Context): FilterNode[] {
  const out: FilterNode[] = [];
  list.forEach((f, i) => {
    const node = materialize(f ?? {}, [...path, i], ctx);
    if (node) out.push(node);
  });
  return out;
}

const has = (m: Record<string, string> | null | undefined): m is Record<string, string> =>
  m != null && Object.keys(m).length > 0;
const hasList = (l: FilterSpec[] | null | undefined): l is FilterSpec[] => l != null && l.length > 0;

/**
 * Validates one filter object as the Trigger webhook does, then materializes it as Knative's
 * `MaterializeSubscriptionsAPIFilter`: undefined when Knative would skip it.
 */
function materialize(f: FilterSpec, path: (string | number)[], ctx: Context): FilterNode | undefined {
  const present: string[] = [];
  if (has(f.exact)) present.push('exact');
  if (has(f.prefix)) present.push('prefix');
  if (has(f.suffix)) present.push('suffix');
  if (hasList(f.all)) present.push('all');
  if (hasList(f.any)) present.push('any');
  if (f.not != null) present.push('not');
  if (f.cesql != null && f.cesql !== '') present.push('cesql');
  if (present.length > 1) {
    ctx.issues.push({
      path,
      message: `multiple dialects found (${present.join(', ')}); a filter can have only one dialect set`,
    });
  }
  for (const d of ['exact', 'prefix', 'suffix'] as const) {
    for (const name of Object.keys(f[d] ?? {})) checkName(name, [...path, d, name], ctx);
  }
  // Dialects the switch below does not materialize are still validated (the webhook checks them all).
  if (f.all && present[0] !== 'all') materializeList(f.all, [...path, 'all'], quiet(ctx));
  if (f.any && present[0] !== 'any') materializeList(f.any, [...path, 'any'], quiet(ctx));
  if (f.not != null && present[0] !== 'not') materialize(f.not, [...path, 'not'], quiet(ctx));
  if (f.cesql != null && f.cesql !== '' && present[0] !== 'cesql')
    cesqlNode(f.cesql, [...path, 'cesql'], ctx);

  switch (present[0]) {
    case 'exact':
      return stringNode(f.exact!, [...path, 'exact'], ctx, (given, wanted) => given === wanted);
    case 'prefix':
      return stringNode(f.prefix!, [...path, 'prefix'], ctx, (given, wanted) => given.startsWith(wanted));
    case 'suffix':
      return stringNode(f.suffix!, [...path, 'suffix'], ctx, (given, wanted) => given.endsWith(wanted));
    case 'all':
      return allNode(materializeList(f.all!, [...path, 'all'], ctx));
    case 'any':
      return anyNode(materializeList(f.any!, [...path, 'any'], ctx));
    case 'not':
      return notNode(materialize(f.not!, [...path, 'not'], ctx));
    case 'cesql':
      return cesqlNode(f.cesql!, [...path, 'cesql'], ctx);
    default:
      ctx.warnings.push({
        path,
        message: 'filter has no dialect with a value; it is skipped (matches every event), as in Knative',
      });
      return undefined;
  }
}

/** The same checks, with issues kept but warnings dropped (used for dialects Knative validates but ignores). */
function quiet(ctx: Context): Context {
  return { issues: ctx.issues, warnings: [] };
}

/**
 * `exact` / `prefix` / `suffix` (Knative `NewExactFilter` ...): every attribute must be present and match.
 * An empty attribute name or value makes Knative skip the whole filter.
 */
function stringNode(
  map: Record<string, string>,
  path: (string | number)[],
  ctx: Context,
  match: (given: string, wanted: string) => boolean,
): FilterNode | undefined {
  const entries = Object.entries(map);
  if (entries.some(([name, wanted]) => name === '' || wanted === '' || wanted == null)) {
    ctx.warnings.push({
      path,
      message:
        'an attribute name or value is empty; the filter is skipped (matches every event, and `not` of it too), as in Knative',
    });
    return undefined;
  }
  return (event) => {
    for (const [name, wanted] of entries) {
      const given = attributeValue(event, name);
      if (given === undefined && !ALWAYS_PRESENT.has(name)) return FAIL;
      if (!match(given ?? '', wanted)) return FAIL;
    }
    return PASS;
  };
}

/** Knative `NewAllFilter`: the first fail wins; otherwise the last member's result ("no filter" when empty). */
function allNode(nodes: FilterNode[]): FilterNode {
  return firstDecisive(nodes, FAIL);
}

/** Knative `NewAnyFilter`: the first pass wins; otherwise the last member's result ("no filter" when empty). */
function anyNode(nodes: FilterNode[]): FilterNode {
  return firstDecisive(nodes, PASS);
}

/** Evaluates `nodes` in order and stops at the first `decisive` result; else the last result. */
function firstDecisive(nodes: FilterNode[], decisive: FilterResult): FilterNode {
  if (nodes.length === 1) return nodes[0]!;
  if (nodes.length === 0) return NONE;
  return (event) => {
    let res: FilterResult = NO_FILTER;
    for (const n of nodes) {
      res = n(event);
      if (res === decisive) return res;
    }
    return res;
  };
}

/** Knative `NewNotFilter`: pass and fail swap; "no filter" (a skipped inner filter) stays. */
function notNode(inner: FilterNode | undefined): FilterNode {
  if (!inner) return NONE;
  return (event) => {
    const r = inner(event);
    return r === PASS ? FAIL : r === FAIL ? PASS : NO_FILTER;
  };
}

function cesqlNode(expression: string, path: (string | number)[], ctx: Context): FilterNode | undefined {
  const res = compileCesqlFilter(expression);
  if (!res.ok) {
    ctx.issues.push({ path, message: `invalid CESQL: ${res.error}` });
    return undefined;
  }
  const p = res.predicate;
  return (event) => (p(event) ? PASS : FAIL);
}

/**
 * `spec.filter.attributes` as the Kafka broker's AttributesFilter: entries with an empty value are dropped
 * (match anything); a missing attribute reads as "" and is compared like any other value.
 */
function attributesPredicate(attrs: Record<string, string>): EventPredicate {
  const entries = Object.entries(attrs).filter(([, wanted]) => wanted !== '' && wanted != null);
  if (entries.length === 0) return MATCH_ALL;
  return (event) => {
    for (const [name, wanted] of entries) {
      if ((attributeValue(event, name) ?? '') !== wanted) return false;
    }
    return true;
  };
}

function checkName(name: string, path: (string | number)[], ctx: Context): void {
  if (!ATTRIBUTE_NAME_RE.test(name)) {
    ctx.issues.push({
      path,
      message: `invalid attribute name "${name}": must start with a letter and contain only lowercase letters and digits`,
    });
  }
}
