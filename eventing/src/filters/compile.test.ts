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

  it('an exact/prefix/suffix value "" matches anything, as the Kafka broker drops it', () => {
    expect(compile([{ exact: { bucket: '' } }])(event())).toBe(true);
    expect(compile([{ prefix: { bucket: '' } }])(event())).toBe(true);
  });

  it('all, any and not, nested', () => {
    const p = compile([
      {
        all: [
          { prefix: { type: 'dev.tributary.db.' } },
          { any: [{ exact: { subject: '42' } }, { exact: { subject: '43' } }] },
          { not: { suffix: { type: '.deleted' } } },
        ],
      },
    ]);
    expect(p(event())).toBe(true);
    expect(p(event({ subject: '43' }))).toBe(true);
    expect(p(event({ subject: '44' }))).toBe(false);
    expect(p(event({ type: 'dev.tributary.db.row.deleted' }))).toBe(false);
  });

  it('not of a missing attribute matches', () => {
    expect(compile([{ not: { exact: { bucket: 'photos' } } }])(event())).toBe(true);
    expect(compile([{ not: { exact: { bucket: 'photos' } } }])(event({ bucket: 'photos' }))).toBe(false);
  });

  it('a list of filters must all match', () => {
    const p = compile([{ exact: { subject: '42' } }, { prefix: { source: '/storage/' } }]);
    expect(p(event())).toBe(false);
    expect(p(event({ source: '/storage/photos' }))).toBe(true);
  });

  it('filters win over filter.attributes when both are set', () => {
    const res = compileTriggerFilter({
      filter: { attributes: { type: 'nope' } },
      filters: [{ exact: { subject: '42' } }],
    });
    expect(res.kind).toBe('filters');
    expect(res.predicate(event())).toBe(true);
  });

  it('rejects a filter with several dialects, or none', () => {
    expect(issuesOf({ exact: { type: 'a' }, prefix: { type: 'b' } })).toEqual([
      {
        path: ['spec', 'filters', 0],
        message: expect.stringContaining('multiple dialects found (exact, prefix)'),
      },
    ]);
    expect(issuesOf({})).toEqual([
      { path: ['spec', 'filters', 0], message: expect.stringContaining('found none') },
    ]);
  });

  it('rejects several attributes in exact/prefix/suffix, with the nested path', () => {
    expect(issuesOf({ any: [{ exact: { type: 'a' } }, { suffix: { type: 'a', source: 'b' } }] })).toEqual([
      {
        path: ['spec', 'filters', 0, 'any', 1, 'suffix'],
        message: expect.stringContaining('only one key-value'),
      },
    ]);
  });

  it('rejects empty all/any lists and invalid names inside not', () => {
    expect(issuesOf({ all: [] })[0]?.message).toContain('at least one');
    expect(issuesOf({ not: { exact: { 'bad-name': 'x' } } })).toEqual([
      {
        path: ['spec', 'filters', 0, 'not', 'exact', 'bad-name'],
        message: expect.stringContaining('invalid attribute name'),
      },
    ]);
  });

  it('rejects an empty cesql expression', () => {
    expect(issuesOf({ cesql: '  ' })[0]?.message).toContain('empty');
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
