import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { loadServiceSpec, parseDuration } from './service-spec.js';

function write(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'svc-'));
  const file = join(dir, 'service.yaml');
  writeFileSync(file, yaml);
  return file;
}

describe('Knative Service loading', () => {
  it('reads scaling annotations, env and the function path', () => {
    const file = write(`apiVersion: serving.knative.dev/v1
kind: Service
metadata: { name: hello, namespace: apps }
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/min-scale: "1"
        autoscaling.knative.dev/max-scale: "5"
        autoscaling.knative.dev/target: "7"
        autoscaling.knative.dev/window: "90s"
    spec:
      containers:
        - image: x
          env: [{ name: A, value: "1" }, { name: S, valueFrom: { secretKeyRef: { name: s, key: k } } }]
`);
    const s = loadServiceSpec(file);
    expect(s).toMatchObject({
      name: 'hello',
      namespace: 'apps',
      minScale: 1,
      maxScale: 5,
      target: 7,
      idleMs: 90_000,
      env: { A: '1' },
    });
    expect(s.functionPath).toBe(join(s.dir, 'src/index.ts'));
  });

  it('uses Knative defaults: scale to zero, target 100, 60s window', () => {
    const s = loadServiceSpec(
      write('apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: { name: d }\n'),
    );
    expect(s).toMatchObject({ namespace: 'default', minScale: 0, target: 100, idleMs: 60_000 });
  });

  it('names the file and the field in errors', () => {
    const bad = write('apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: { name: Bad_Name }\n');
    expect(() => loadServiceSpec(bad)).toThrow(
      /service.yaml \(document 1\) metadata.name: must be a lowercase DNS label/,
    );
    const badScale = write(`apiVersion: serving.knative.dev/v1
kind: Service
metadata: { name: x, annotations: { autoscaling.knative.dev/max-scale: "lots" } }
`);
    expect(() => loadServiceSpec(badScale)).toThrow(/max-scale must be a non-negative integer, got "lots"/);
    expect(() => loadServiceSpec(write('kind: Trigger\n'))).toThrow(/no Knative Service/);
  });

  it('parses Knative durations', () => {
    expect(parseDuration('1m30s', 'f')).toBe(90_000);
    expect(parseDuration('250ms', 'f')).toBe(250);
    expect(() => parseDuration('soon', 'window')).toThrow(/window: invalid duration "soon"/);
  });
});
