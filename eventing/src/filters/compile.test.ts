import { describe, expect, it } from '@jest/globals';
import { CloudEvent } from 'cloudevents';
import type { FilterSpec } from '../resources/schema.js';
import { compileFilter, compileTriggerFilter, type FilterIssue } from './compile.js';

const event = (ext: Record<string, unknown> = {}) =>
  new CloudEvent({
    specversion: '1.0',
    id: 'id-1',
    source: '/db/app/public/orders',
    type: 'dev.tributary.db.row.inserted',
    subject: '42',
    time: '2024-05-01T10:00:00.000Z',
    data: { ok: true },
    ...ext,
  });

function compile(filters: FilterSpec[]) {
  const res = compileTriggerFilter({ filters });
  expect(res.issues).toEqual([]);
  return res.predicate;
}

function issuesOf(f: FilterSpec): FilterIssue[] {
  const issues: FilterIssue[] = [];
  compileFilter(f, ['spec', 'filters', 0], issues);
  return issues;
}

function warningsOf(f: FilterSpec): FilterIssue[] {
  const warnings: FilterIssue[] = [];
  compileFilter(f, ['spec', 'filters', 0], [], warnings);
  return warnings;
}

describe('filter.attributes (Kafka broker AttributesFilter semantics)', () => {
  it('matches when every listed attribute is equal, extensions included', () => {
    const p = compileTriggerFilter({
      filter: { attributes: { type: 'dev.tributary.db.row.inserted', table: 'orders' } },
    }).predicate;
    expect(p(event({ table: 'orders' }))).toBe(true);
    expect(p(event({ table: 'users' }))).toBe(false);
  });

  it('treats a missing attribute as "" so it never equals a non-empty value', () => {
    const p = compileTriggerFilter({ filter: { attributes: { table: 'orders' } } }).predicate;
    expect(p(event())).toBe(false);
  });

  it('drops entries whose value is "": they match any value and a missing attribute', () => {
    const p = compileTriggerFilter({
      filter: { attributes: { table: '', type: 'dev.tributary.db.row.inserted' } },
    }).predicate;
    expect(p(event({ table: 'orders' }))).toBe(true);
    expect(p(event())).toBe(true);
    const onlyEmpty = compileTriggerFilter({ filter: { attributes: { table: '' } } }).predicate;
    expect(onlyEmpty(event())).toBe(true);
  });

  it('compares non-string extensions by their string form', () => {
    const p = compileTriggerFilter({ filter: { attributes: { knativebrokerttl: '255' } } }).predicate;
    expect(p(event({ knativebrokerttl: 255 }))).toBe(true);
  });

  it('never reads data as an attribute', () => {
    const p = compileTriggerFilter({ filter: { attributes: { data: '[object Object]' } } }).predicate;
    expect(p(event())).toBe(false);
  });

  it('rejects invalid attribute names', () => {
    const res = compileTriggerFilter({ filter: { attributes: { Type: 'x' } } });
    expect(res.issues).toEqual([
      {
        path: ['spec', 'filter', 'attributes', 'Type'],
        message: expect.stringContaining('invalid attribute name'),
      },
    ]);
  });

  it('no filter matches everything', () => {
    expect(compileTriggerFilter({}).predicate(event())).toBe(true);
    expect(compileTriggerFilter({ filter: {} }).predicate(event())).toBe(true);
  });
});

describe('filters (SubscriptionsAPI dialects)', () => {
  it('exact', () => {
    const p = compile([{ exact: { type: 'dev.tributary.db.row.inserted' } }]);
    expect(p(event())).toBe(true);
    expect(p(event({ type: 'dev.tributary.db.row.updated' }))).toBe(false);
  });

  it('prefix and suffix, false on a missing attribute', () => {
    expect(compile([{ prefix: { type: 'dev.tributary.db.' } }])(event())).toBe(true);
    expect(compile([{ prefix: { type: 'dev.tributary.storage.' } }])(event())).toBe(false);
    expect(compile([{ suffix: { type: '.inserted' } }])(event())).toBe(true);
    expect(compile([{ suffix: { source: '/users' } }])(event())).toBe(false);
    expect(compile([{ prefix: { bucket: 'a' } }])(event())).toBe(false);
    expect(compile([{ suffix: { bucket: 'a' } }])(event())).toBe(false);
  });

  it('an exact/prefix/suffix with a value "" is skipped (matches anything), with a warning', () => {
    expect(compile([{ exact: { bucket: '' } }])(event())).toBe(true);
    expect(compile([{ prefix: { bucket: '' } }])(event())).toBe(true);
    expect(compile([{ suffix: { type: 'nope', bucket: '' } }])(event())).toBe(true);
    expect(warningsOf({ exact: { type: '' } })[0]?.message).toContain('skipped');
  });

  // Regression (issue 17, difference 12): Knative's three-valued result. A skipped filter says "no filter";
  // `not` keeps that, `any`/`all` leave it out of their list, and only "fail" drops the event.
  it('not and any around a skipped filter follow Knative (no filter, not the opposite)', () => {
    const skipped = { exact: { type: '' } };
    expect(compile([{ not: skipped }])(event())).toBe(true);
    expect(compile([{ not: { not: skipped } }])(event())).toBe(true);
    const any = compile([{ any: [skipped, { exact: { type: 'nope' } }] }]);
    expect(any(event())).toBe(false); // any of [exact type=nope]: the skipped member is left out
    const all = compile([{ all: [skipped, { exact: { type: 'dev.tributary.db.row.inserted' } }] }]);
    expect(all(event())).toBe(true);
    expect(all(event({ type: 'other' }))).toBe(false);
    expect(compile([{ not: { all: [] } }])(event())).toBe(true);
    expect(compile([{ not: {} }])(event())).toBe(true);
  });

  it("any/all return their last member's result when none decides, as Knative does", () => {
    // `not` of a skipped filter is a member that says "no filter" (it stays in the list).
    const noFilter = { not: { exact: { type: '' } } };
    const nope = { exact: { type: 'nope' } };
    expect(compile([{ any: [nope, noFilter] }])(event())).toBe(true);
    expect(compile([{ any: [noFilter, nope] }])(event())).toBe(false);
    expect(compile([{ all: [noFilter, nope] }])(event())).toBe(false);
  });

  // Regression (issue 17, difference 7): Knative uses `filters` only when the list is non-empty.
  it('filters: [] next to filter.attributes leaves the attributes filter in charge', () => {
    const res = compileTriggerFilter({ filter: { attributes: { type: 'x' } }, filters: [] });
    expect(res.kind).toBe('attributes');
    expect(res.predicate(event())).toBe(false);
    expect(res.predicate(event({ type: 'x' }))).toBe(true);
    expect(compileTriggerFilter({ filters: [] }).predicate(event())).toBe(true);
  });

  it('filters win over filter.attributes when both are set', () => {
    const res = compileTriggerFilter({
      filter: { attributes: { type: 'nope' } },
      filters: [{ exact: { subject: '42' } }],
    });
    expect(res.kind).toBe('filters');
    expect(res.predicate(event())).toBe(true);
  });

  it('rejects a filter with several dialects; one with none is skipped with a warning', () => {
    expect(issuesOf({ exact: { type: 'a' }, prefix: { type: 'b' } })).toEqual([
      {
        path: ['spec', 'filters', 0],
        message: expect.stringContaining('multiple dialects found (exact, prefix)'),
      },
    ]);
    // Empty maps, lists and strings count as absent, as in Knative's webhook.
    expect(issuesOf({ exact: {}, all: [], cesql: '', prefix: { type: 'b' } })).toEqual([]);
    expect(issuesOf({})).toEqual([]);
    expect(warningsOf({})).toEqual([
      { path: ['spec', 'filters', 0], message: expect.stringContaining('skipped') },
    ]);
  });

  // Regression (issue 17, difference 8): Knative v0.48 accepts multi-key maps; every key must match.
  it('accepts several attributes in exact/prefix/suffix, all of which must match', () => {
    expect(issuesOf({ any: [{ exact: { type: 'a' } }, { suffix: { type: 'a', source: 'b' } }] })).toEqual([]);
    const p = compile([{ exact: { type: 'dev.tributary.db.row.inserted', subject: '42' } }]);
    expect(p(event())).toBe(true);
    expect(p(event({ subject: '43' }))).toBe(false);
    const pre = compile([{ prefix: { type: 'dev.', source: '/db/' } }]);
    expect(pre(event())).toBe(true);
    expect(pre(event({ source: '/storage/x' }))).toBe(false);
  });

  it('accepts empty all/any lists (skipped) and rejects invalid names inside not', () => {
    expect(issuesOf({ all: [] })).toEqual([]);
    expect(issuesOf({ any: [] })).toEqual([]);
    expect(compile([{ all: [] }, { exact: { subject: '42' } }])(event())).toBe(true);
    expect(compile([{ any: [] }, { exact: { subject: '7' } }])(event())).toBe(false);
    expect(issuesOf({ not: { exact: { 'bad-name': 'x' } } })).toEqual([
      {
        path: ['spec', 'filters', 0, 'not', 'exact', 'bad-name'],
        message: expect.stringContaining('invalid attribute name'),
      },
    ]);
  });

  it('rejects a blank cesql expression (an empty one counts as absent)', () => {
    expect(issuesOf({ cesql: '  ' })[0]?.message).toContain('invalid CESQL');
  });
});

describe('attributes as Knative reads them', () => {
  // Regression (issue 17, difference 9): the Kafka broker compares `time` as an instant (ISO_INSTANT, UTC).
  it('an exact filter on time matches the same instant written with another offset', () => {
    const at = (time: string) => event({ time });
    const p = compile([{ exact: { time: '2024-05-01T10:34:56.123456789Z' } }]);
    expect(p(at('2024-05-01T12:34:56.123456789+02:00'))).toBe(true);
    expect(p(at('2024-05-01T10:34:56.123456789Z'))).toBe(true);
    expect(p(at('2024-05-01T10:34:56.123456788Z'))).toBe(false);
    const attrs = compileTriggerFilter({ filter: { attributes: { time: '2024-05-01T10:00:00Z' } } });
    expect(attrs.predicate(at('2024-05-01T05:30:00-04:30'))).toBe(true);
    // Fractions print with 0, 3, 6 or 9 digits, as Java's ISO_INSTANT does.
    expect(compile([{ exact: { time: '2024-05-01T10:00:00.120Z' } }])(at('2024-05-01T10:00:00.12Z'))).toBe(
      true,
    );
  });

  // Regression (issue 17, difference 10): Knative's aliases.
  it('reads datamediatype and schemaurl as Knative does', () => {
    const e = event({ datacontenttype: 'application/json; charset=utf-8', dataschema: 'https://x/s.json' });
    expect(compile([{ exact: { datamediatype: 'application/json' } }])(e)).toBe(true);
    expect(compile([{ exact: { schemaurl: 'https://x/s.json' } }])(e)).toBe(true);
    expect(
      compileTriggerFilter({ filter: { attributes: { schemaurl: 'https://x/s.json' } } }).predicate(e),
    ).toBe(true);
    expect(compile([{ exact: { datamediatype: 'text/plain' } }])(e)).toBe(false);
  });
});

describe('cesql dialect', () => {
  it('matches with CESQL semantics, missing attributes failing the filter', () => {
    const p = compile([{ cesql: "type LIKE 'dev.tributary.db.%' AND subject = '42'" }]);
    expect(p(event())).toBe(true);
    expect(p(event({ subject: '7' }))).toBe(false);
    const ext = compile([{ cesql: "bucket = 'photos'" }]);
    expect(ext(event())).toBe(false);
    expect(ext(event({ bucket: 'photos' }))).toBe(true);
  });

  it('nests inside not/any', () => {
    const p = compile([{ any: [{ cesql: "subject = '1'" }, { not: { cesql: "source LIKE '/db/%'" } }] }]);
    expect(p(event())).toBe(false);
    expect(p(event({ source: '/storage/x' }))).toBe(true);
  });

  it('rejects invalid CESQL at compile time with a caret excerpt', () => {
    const issues = issuesOf({ cesql: "type = 'a' AND (" });
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toEqual(['spec', 'filters', 0, 'cesql']);
    expect(issues[0]?.message).toMatch(/^invalid CESQL: .*\n.*\n\s*\^/);
  });

  it('rejects unknown functions and non-boolean expressions', () => {
    expect(issuesOf({ cesql: 'NOPE(type)' })[0]?.message).toContain('invalid CESQL');
    expect(issuesOf({ cesql: "'abc'" })[0]?.message).toContain('needs a boolean');
  });
});
