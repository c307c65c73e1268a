import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { CloudEvent } from 'cloudevents';
import { mergeDelivery, resolveDelivery } from './delivery.js';
import { parseDuration } from './duration.js';
import { formatIssue, type ResourceIssue, ResourceValidationError } from './errors.js';
import { loadResources, parseResources } from './load.js';
import { noResolver, resolveDestination } from './resolver.js';

const BROKER = `
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: shop
  annotations:
    eventing.knative.dev/broker.class: Kafka
spec:
  config:
    apiVersion: v1
    kind: ConfigMap
    name: kafka-broker-config
    namespace: knative-eventing
  delivery:
    retry: 5
    backoffPolicy: linear
    backoffDelay: PT0.5S
    deadLetterSink:
      uri: http://127.0.0.1:9999/dls
`;

const CONFIG = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: kafka-broker-config
  namespace: knative-eventing
data:
  default.topic.partitions: "6"
  default.topic.replication.factor: "1"
  bootstrap.servers: "a:9092, b:9092"
`;

const trigger = (name: string, spec: string, annotations = '') => `
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ${name}
  namespace: shop
${annotations ? `  annotations:\n${annotations}` : ''}
spec:
  broker: default
${spec}
`;

const SUBSCRIBER = `  subscriber:
    uri: http://127.0.0.1:8081/`;

function parse(...docs: string[]) {
  return parseResources([{ file: 'config/broker.yaml', text: docs.join('\n---\n') }]);
}

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ResourceValidationError)
      return err.issues.map((i) => `${i.file}#${i.document} ${i.path}: ${i.message}`);
    throw err;
  }
  throw new Error('expected a ResourceValidationError');
}

describe('parseResources', () => {
  it('loads a Broker, its ConfigMap and Triggers from one multi-document file', () => {
    const res = parse(
      BROKER,
      CONFIG,
      trigger(
        'orders',
        `  filter:\n    attributes:\n      type: dev.tributary.db.row.inserted\n${SUBSCRIBER}\n  delivery:\n    retry: 2\n    timeout: PT2S`,
        `    kafka.eventing.knative.dev/delivery.order: ordered\n    tributary.dev/initial-offset: earliest`,
      ),
    );
    expect(res.brokers).toHaveLength(1);
    expect(res.brokers[0]?.config).toEqual({
      configMap: 'kafka-broker-config',
      partitions: 6,
      replicationFactor: 1,
      bootstrapServers: ['a:9092', 'b:9092'],
    });
    const t = res.triggers[0];
    expect(t).toMatchObject({
      namespace: 'shop',
      name: 'orders',
      broker: 'default',
      groupId: 'knative-trigger-shop-orders',
      deliveryOrder: 'ordered',
      initialOffset: 'earliest',
      location: { file: 'config/broker.yaml', document: 3 },
    });
    // Trigger fields override the Broker's one by one; the rest come from the Broker.
    expect(t?.delivery).toEqual({
      retry: 2,
      backoffPolicy: 'linear',
      backoffDelayMs: 500,
      backoffMaxMs: undefined,
      timeoutMs: 2000,
      deadLetterSink: { uri: 'http://127.0.0.1:9999/dls' },
    });
    const ev = new CloudEvent({ source: '/x', type: 'dev.tributary.db.row.inserted' });
    expect(t?.filter.predicate(ev)).toBe(true);
  });

  it('defaults: namespace default, unordered, latest, Kafka broker delivery defaults', () => {
    const res = parse(
      'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default',
      `apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: t\nspec:\n  broker: default\n${SUBSCRIBER}`,
    );
    expect(res.triggers[0]).toMatchObject({
      namespace: 'default',
      deliveryOrder: 'unordered',
      initialOffset: 'latest',
      delivery: { retry: 0, backoffPolicy: 'exponential', backoffDelayMs: 1000, timeoutMs: 600_000 },
    });
    expect(res.brokers[0]?.config).toEqual({});
  });

  it('ignores other kinds and empty documents', () => {
    const res = parse(
      BROKER,
      'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: fn',
      '',
      trigger('t', SUBSCRIBER),
    );
    expect(res.triggers.map((t) => t.name)).toEqual(['t']);
  });

  it('names the file, document and field of each problem, all at once', () => {
    const issues = issuesOf(() =>
      parse(
        BROKER,
        trigger(
          'a',
          `  filters:\n    - exact:\n        type: x\n      prefix:\n        type: y\n${SUBSCRIBER}`,
        ),
        trigger('b', `  subscriber:\n    uri: not-a-url\n  delivery:\n    backoffDelay: 5s`),
        trigger('c', `${SUBSCRIBER}\n  delivery:\n    retries: 3`),
      ),
    );
    expect(issues).toEqual([
      expect.stringMatching(/^config\/broker\.yaml#2 spec\.filters\[0\]: multiple dialects found/),
      expect.stringMatching(
        /^config\/broker\.yaml#3 spec\.delivery\.backoffDelay: "5s" is not an ISO-8601 duration/,
      ),
      expect.stringMatching(
        /^config\/broker\.yaml#3 spec\.subscriber\.uri: "not-a-url" is not an absolute http\(s\) URL/,
      ),
      expect.stringMatching(/^config\/broker\.yaml#4 spec\.delivery: Unrecognized key: "retries"/),
    ]);
  });

  it('rejects an unknown broker', () => {
    const issues = issuesOf(() =>
      parse(BROKER, trigger('t', SUBSCRIBER).replace('broker: default', 'broker: other')),
    );
    expect(issues).toEqual([
      expect.stringContaining('#2 spec.broker: unknown broker "other" in namespace "shop" (known: default)'),
    ]);
  });

  it('rejects bad annotations, missing subscriber, wrong apiVersion and duplicates', () => {
    const issues = issuesOf(() =>
      parse(
        BROKER,
        trigger('t', SUBSCRIBER, '    kafka.eventing.knative.dev/delivery.order: sorted'),
        trigger('u', ''),
        BROKER.replace('eventing.knative.dev/v1', 'eventing.knative.dev/v1beta1'),
        BROKER,
      ),
    );
    expect(issues).toEqual([
      expect.stringContaining(
        '#2 metadata.annotations["kafka.eventing.knative.dev/delivery.order"]: expected "ordered" or "unordered", got "sorted"',
      ),
      expect.stringContaining('#3 spec.subscriber:'),
      expect.stringContaining('#4 apiVersion:'),
      expect.stringContaining('#5 metadata.name: duplicate Broker (also in config/broker.yaml document 1)'),
    ]);
  });

  it('reports YAML syntax errors with their document', () => {
    const issues = issuesOf(() => parse(BROKER, 'kind: Trigger\nmetadata: [unclosed'));
    expect(issues[0]).toMatch(/^config\/broker\.yaml#2 : YAML syntax/);
  });

  it('places a YAML syntax error at its line and column, with the line itself (one issue, not its echoes)', () => {
    const text = `${BROKER}\n---\nkind: Trigger\nspec:\n  filter:\n    attributes:\n      type: "dev.x\n`;
    let issues: ResourceIssue[] = [];
    try {
      parseResources([{ file: 'config/t.yaml', text }]);
    } catch (err) {
      issues = [...(err as ResourceValidationError).issues];
    }
    expect(issues).toHaveLength(1);
    const line = text.split('\n').indexOf('      type: "dev.x') + 1;
    expect(issues[0]).toMatchObject({ file: 'config/t.yaml', document: 2, line, column: 13 });
    expect(formatIssue(issues[0]!)).toBe(
      `config/t.yaml:${line}:13 (document 2): YAML syntax: Missing closing "quote\n` +
        '            type: "dev.x\n' +
        '                  ^',
    );
  });

  it('rejects invalid ConfigMap values', () => {
    const issues = issuesOf(() => parse(BROKER, CONFIG.replace('"6"', '"six"')));
    expect(issues).toEqual([
      expect.stringContaining('#2 data["default.topic.partitions"]: expected an integer >= 1, got "six"'),
    ]);
  });
});

describe('loadResources', () => {
  it('reads every .yaml/.yml file of a folder, recursively', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-resources-'));
    try {
      await mkdir(join(dir, 'functions', 'orders'), { recursive: true });
      await mkdir(join(dir, '.hidden'));
      await writeFile(join(dir, 'broker.yaml'), BROKER);
      await writeFile(join(dir, 'functions', 'orders', 'trigger.yml'), trigger('orders', SUBSCRIBER));
      await writeFile(join(dir, '.hidden', 'x.yaml'), 'kind: Trigger');
      await writeFile(join(dir, 'notes.txt'), 'kind: Trigger');
      const res = await loadResources(dir, dir);
      expect(res.files).toEqual(['broker.yaml', join('functions', 'orders', 'trigger.yml')]);
      expect(res.triggers.map((t) => t.name)).toEqual(['orders']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails clearly on a missing path', async () => {
    await expect(loadResources('/nonexistent/tributary')).rejects.toThrow('no such file or folder');
  });
});

describe('delivery', () => {
  it('merges field by field, the Trigger winning', () => {
    expect(
      mergeDelivery(
        { retry: 5, backoffPolicy: 'linear', backoffDelay: 'PT1S', deadLetterSink: { uri: 'http://a/' } },
        { retry: 1, timeout: 'PT3S' },
      ),
    ).toEqual({
      retry: 1,
      backoffPolicy: 'linear',
      backoffDelay: 'PT1S',
      timeout: 'PT3S',
      deadLetterSink: { uri: 'http://a/' },
    });
    expect(mergeDelivery(undefined, { retry: 2 })).toEqual({ retry: 2 });
  });

  it('parses ISO-8601 durations', () => {
    expect(parseDuration('PT0.2S')).toEqual({ ok: true, ms: 200 });
    expect(parseDuration('PT1M30S')).toEqual({ ok: true, ms: 90_000 });
    expect(parseDuration('P1DT1H')).toEqual({ ok: true, ms: 90_000_000 });
    expect(parseDuration('P1W')).toEqual({ ok: true, ms: 604_800_000 });
    expect(parseDuration('PT0,5S')).toEqual({ ok: true, ms: 500 });
    for (const bad of ['P', 'PT', '1S', 'PT1', 'P1H', '']) expect(parseDuration(bad).ok).toBe(false);
    expect(parseDuration('P1M')).toEqual({ ok: false, error: expect.stringContaining('years and months') });
  });

  it('resolves durations and reports a zero timeout', () => {
    const res = resolveDelivery({ timeout: 'PT0S', backoffMax: 'PT10S' });
    expect(res.issues).toEqual([{ field: 'timeout', message: 'must be greater than zero' }]);
    expect(res.options.backoffMaxMs).toBe(10_000);
  });
});

describe('resolveDestination', () => {
  it('resolves uri, ref, and uri relative to ref', async () => {
    const resolver = {
      resolve: (ref: { name: string; namespace: string }) =>
        `http://127.0.0.1:7000/${ref.namespace}/${ref.name}/`,
    };
    expect(await resolveDestination({ uri: 'http://x:1/a' }, 'ns')).toBe('http://x:1/a');
    expect(await resolveDestination({ ref: { kind: 'Service', name: 'fn' } }, 'ns', resolver)).toBe(
      'http://127.0.0.1:7000/ns/fn/',
    );
    expect(
      await resolveDestination({ ref: { kind: 'Service', name: 'fn' }, uri: 'hook' }, 'ns', resolver),
    ).toBe('http://127.0.0.1:7000/ns/fn/hook');
  });

  it('fails without a resolver for a ref', async () => {
    await expect(
      resolveDestination({ ref: { kind: 'Service', name: 'fn' } }, 'ns', noResolver),
    ).rejects.toThrow('no resolver for ref Service ns/fn');
  });
});
