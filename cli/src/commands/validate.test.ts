import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { main } from '../index.js';
import { captureIo } from './capture-io.test-util.js';
import {
  checkAttributeName,
  checkEventType,
  defaultPaths,
  editDistance,
  type Finding,
  nearest,
  validatePaths,
} from './validate.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const FIXTURES = join(import.meta.dirname, 'fixtures', 'validate');

/** `severity path: message` of each finding, for compact assertions. */
function summary(findings: Finding[]): string[] {
  return findings.map((f) => `${f.severity} ${f.resource ?? '-'} ${f.path}: ${f.message}`);
}

describe('edit distance', () => {
  it('counts an adjacent transposition as one edit (Damerau, optimal string alignment)', () => {
    expect(editDistance('table', 'tabel')).toBe(1);
    expect(editDistance('inserted', 'insertd')).toBe(1);
    expect(editDistance('source', 'sourse')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('suggests only names close enough to be a typo', () => {
    expect(nearest('tabel', ['table', 'type'])).toBe('table');
    expect(nearest('color', ['table', 'type', 'source'])).toBeUndefined();
    expect(
      nearest('dev.tributary.db.row.insertd', [
        'dev.tributary.db.row.inserted',
        'dev.tributary.db.row.deleted',
      ]),
    ).toBe('dev.tributary.db.row.inserted');
  });
});

describe('filter checks', () => {
  it("knows the CloudEvents attributes, the sources' extensions and knative*", () => {
    for (const name of [
      'type',
      'source',
      'subject',
      'dataschema',
      'schema',
      'table',
      'lsn',
      'txid',
      'partitionkey',
      'bucket',
      's3eventname',
      'knativeerrorcode',
      'knativeanything',
    ])
      expect(checkAttributeName(name)).toBeUndefined();
    expect(checkAttributeName('subjet')).toContain('did you mean "subject"?');
  });

  it('warns on types that cannot come from the catalog, but not on application types', () => {
    expect(checkEventType('dev.tributary.storage.object.created', 'exact')).toBeUndefined();
    expect(checkEventType('dev.tributary.app.welcome.requested', 'exact')).toBeUndefined();
    expect(checkEventType('com.example.order.placed', 'exact')).toBeUndefined();
    expect(checkEventType('', 'exact')).toBeUndefined();
    expect(checkEventType('dev.tributary.storage.object.create', 'exact')).toBe(
      'type "dev.tributary.storage.object.create" is not in the event catalog: did you mean "dev.tributary.storage.object.created"?',
    );
    expect(checkEventType('dev.tributary.billing.invoice.paid', 'exact')).toBe(
      'type "dev.tributary.billing.invoice.paid" is not in the event catalog',
    );
    expect(checkEventType('dev.tributary.db.', 'prefix')).toBeUndefined();
    expect(checkEventType('dev.tributary.stroage.', 'prefix')).toContain(
      'did you mean "dev.tributary.storage."?',
    );
  });
});

describe('tributary validate', () => {
  it("accepts the repository's own eventing/config and functions without a warning", () => {
    const paths = defaultPaths(ROOT);
    expect(paths.some((p) => p.endsWith(join('eventing', 'config')))).toBe(true);
    expect(paths.some((p) => p.endsWith(join('audit-log', 'trigger.yaml')))).toBe(true);
    const result = validatePaths(paths, ROOT);
    expect(summary(result.findings)).toEqual([]);
    expect(result.counts.brokers).toBeGreaterThanOrEqual(1);
    expect(result.counts.services).toBeGreaterThanOrEqual(4);
  });

  it('warns about mistyped types and attributes, naming the nearest known name, and exits 0', async () => {
    const result = validatePaths([join(FIXTURES, 'typos')], ROOT);
    expect(summary(result.findings)).toEqual([
      'warning Trigger default/typo-type spec.filter.attributes.type: type "dev.tributary.db.row.insertd" is not in the event catalog: did you mean "dev.tributary.db.row.inserted"?',
      'warning Trigger default/typo-type spec.filter.attributes.tabel: attribute "tabel" is not a CloudEvents attribute nor a known extension: did you mean "table"?',
      'warning Trigger default/nested spec.filters[0].any[0].prefix.type: no known event type starts with "dev.tributary.stroage.": did you mean "dev.tributary.storage."?',
      'warning Trigger default/nested spec.filters[0].any[1].not.exact.sourse: attribute "sourse" is not a CloudEvents attribute nor a known extension: did you mean "source"?',
      'warning Trigger default/nested spec.filters[1].exact.color: attribute "color" is not a CloudEvents attribute nor a known extension (fine if your events carry this custom extension)',
    ]);
    const t = captureIo();
    expect(await main(['validate', join(FIXTURES, 'typos')], t.io)).toBe(0);
    expect(t.out[0]).toMatch(
      /^warning: .*fixtures\/validate\/typos\/resources\.yaml \(document 2\) Trigger default\/typo-type: spec\.filter\.attributes\.type: type "dev\.tributary\.db\.row\.insertd"/,
    );
    expect(t.out.at(-1)).toBe('valid: 1 file (1 Broker, 3 Triggers, 0 Services); 0 errors, 5 warnings');
  });

  it('reports every error with its file, document and field, and exits 1', async () => {
    const result = validatePaths([join(FIXTURES, 'errors')], ROOT);
    const lines = result.findings.map(
      (f) => `${f.severity} ${f.file} #${f.document} ${f.path}: ${f.message}`,
    );
    const dir = 'cli/src/commands/fixtures/validate/errors';
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^error ${dir}/broken\\.yaml #1 : YAML syntax: `)),
      `error ${dir}/resources.yaml #2 spec.broker: unknown broker "defualt" in namespace "default" (known: default)`,
      `error ${dir}/resources.yaml #3 spec.delivery.backoffDelay: "soon" is not an ISO-8601 duration (e.g. PT0.5S, PT1M, P1D)`,
      `error ${dir}/resources.yaml #3 spec.subscriber.ref: no function Service "on-user-creatd" in namespace "default": did you mean "on-user-created"?`,
      `warning ${dir}/resources.yaml #4 spec.subscriber.ref: KafkaSink "archive" is not defined in the files checked`,
      `error ${dir}/service.yaml #1 : annotation autoscaling.knative.dev/max-scale must be a non-negative integer, got "lots"`,
    ]);
    const t = captureIo();
    expect(await main(['validate', '--quiet', join(FIXTURES, 'errors')], t.io)).toBe(1);
    expect(t.out).toHaveLength(6);
    const u = captureIo();
    expect(await main(['validate', join(FIXTURES, 'nope')], u.io)).toBe(1);
    expect(u.out[0]).toMatch(/^error: .*fixtures\/validate\/nope: no such file or folder$/);
  });

  it("compares a function's trigger.yaml with its copy instead of loading it twice", () => {
    const result = validatePaths([join(FIXTURES, 'copy')], ROOT);
    expect(summary(result.findings)).toEqual([
      'warning Trigger default/greeter : differs from its copy in cli/src/commands/fixtures/validate/copy/config/triggers/greeter.yaml (document 1), which `tributary dev` and the cluster use',
    ]);
    expect(result.counts).toEqual({ brokers: 1, triggers: 2, services: 1 });
  });

  it('checks a lone trigger.yaml against the repository Broker', () => {
    const result = validatePaths([join(ROOT, 'services', 'functions', 'audit-log', 'trigger.yaml')], ROOT);
    expect(result.findings).toEqual([]);
  });

  it("takes its context from the user's project, not from the repository the CLI lives in", () => {
    const project = mkdtempSync(join(tmpdir(), 'tributary-validate-project-'));
    try {
      const fn = join(project, 'services', 'functions', 'mine');
      mkdirSync(fn, { recursive: true });
      writeFileSync(
        join(fn, 'service.yaml'),
        'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: mine\nspec:\n  template:\n' +
          '    spec:\n      containers:\n        - image: example.com/mine\n',
      );
      writeFileSync(
        join(fn, 'trigger.yaml'),
        'apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: mine\nspec:\n  broker: default\n' +
          '  subscriber:\n    ref:\n      apiVersion: serving.knative.dev/v1\n      kind: Service\n      name: mine\n',
      );
      // With no paths: the project's functions only (it has no eventing/config).
      const paths = defaultPaths(project);
      expect(paths).toEqual([join(fn, 'trigger.yaml'), join(fn, 'service.yaml')]);
      expect(validatePaths([join(fn, 'trigger.yaml')], project, project).findings).toEqual([]);
      // The repository's function is not a known Service of this project ...
      const audit = join(ROOT, 'services', 'functions', 'audit-log', 'trigger.yaml');
      expect(summary(validatePaths([audit], project, project).findings)).toEqual([
        expect.stringMatching(/^error Trigger default\/audit-log spec\.subscriber\.ref: .*audit-log/),
      ]);
      // ... and the project's function is not one of the repository's.
      expect(summary(validatePaths([join(fn, 'trigger.yaml')], ROOT, ROOT).findings)).toEqual([
        expect.stringMatching(/^error Trigger default\/mine spec\.subscriber\.ref: .*mine/),
      ]);
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});

describe('validate: YAML syntax errors', () => {
  it('names file:line:column and shows the line (regression: 6 errors with no position)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-validate-syntax-'));
    try {
      const file = join(dir, 'trigger.yaml');
      writeFileSync(
        file,
        'apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: x\nspec:\n  broker: default\n' +
          '  filter:\n    attributes:\n      type: "dev.tributary.db.row.inserted\n  subscriber:\n    uri: http://x\n',
      );
      const t = captureIo();
      expect(await main(['validate', file], t.io)).toBe(1);
      const errors = t.out.filter((l) => l.startsWith('error:'));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain(`${relative(process.cwd(), file)}:9:13 (document 1): YAML syntax:`);
      expect(errors[0]).toContain('\n            type: "dev.tributary.db.row.inserted\n                  ^');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
