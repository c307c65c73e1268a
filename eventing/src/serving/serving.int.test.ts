import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createLogger, encodeHttpBinary } from '@tributary/shared';
import { waitFor } from '@tributary/testing';
import { CloudEvent } from 'cloudevents';
import { Registry } from 'prom-client';
import { createLocalServing, type LocalServing } from './activator.js';
import { loadServiceSpec } from './service-spec.js';

const repoRoot = resolve(import.meta.dirname, '../../..');
const runtime = {
  args: [
    '--conditions=development',
    '--import',
    'tsx',
    join(repoRoot, 'services/functions/runtime/src/main.ts'),
  ],
  env: { LOG_LEVEL: 'warn' },
};
const logger = createLogger({ name: 'serving-test', level: 'silent' });

let root: string;
jest.setTimeout(300_000);

/** Writes a function folder with a service.yaml carrying `annotations`; the handler sleeps `data.sleepMs`. */
function makeFunction(name: string, annotations: Record<string, string>): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(
    join(dir, 'src/index.ts'),
    `export async function handle(context: unknown, event: { data?: { sleepMs?: number } }) {
       await new Promise((r) => setTimeout(r, event.data?.sleepMs ?? 0));
       return undefined;
     }
     export function init() { process.env.INIT_CALLED = String(process.pid); }\n`,
  );
  const ann = Object.entries(annotations)
    .map(([k, v]) => `        ${k}: "${v}"`)
    .join('\n');
  writeFileSync(
    join(dir, 'service.yaml'),
    `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${name}
spec:
  template:
    metadata:
      annotations:
${ann}
    spec:
      containers:
        - image: example/${name}
          env:
            - name: GREETING
              value: hello
`,
  );
  return join(dir, 'service.yaml');
}

function event(sleepMs = 0) {
  return new CloudEvent({
    id: `e-${Math.random()}`,
    source: '/test',
    type: 'dev.tributary.test',
    data: { sleepMs },
  });
}

async function post(serving: LocalServing, name: string, e: CloudEvent<unknown>) {
  const { headers, body } = encodeHttpBinary(e);
  return serving.pools.get(`default/${name}`)!.forward({ method: 'POST', headers, body: Buffer.from(body) });
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'tributary-serving-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('local serving (activator + autoscaler) with real function processes', () => {
  it('starts from zero on the first event, buffers concurrent events meanwhile, and scales back to zero when idle', async () => {
    const spec = loadServiceSpec(
      makeFunction('zero', {
        'autoscaling.knative.dev/target': '10',
        'autoscaling.knative.dev/scale-to-zero-pod-retention-period': '1s',
      }),
    );
    const registry = new Registry();
    const serving = createLocalServing({
      services: [spec],
      runtime,
      logger,
      registry,
      startTimeoutMs: 150_000,
    });
    await serving.start('http://127.0.0.1:1');
    try {
      const pool = serving.pools.get('default/zero')!;
      expect(pool.scale).toBe(0);
      const results = await Promise.all([1, 2, 3, 4, 5].map(() => post(serving, 'zero', event(20))));
      expect(results.map((r) => r.status)).toEqual([204, 204, 204, 204, 204]);
      // All five were held while one instance started: no extra instance below target concurrency.
      expect(pool.scale).toBe(1);
      const metrics = await registry.metrics();
      expect(metrics).toMatch(/serving_cold_starts_total\{service="default\/zero"\} 1/);
      await waitFor(() => pool.scale === 0, { timeoutMs: 15_000, message: 'scale to zero after 1s idle' });
      // The next event cold-starts again.
      expect((await post(serving, 'zero', event())).status).toBe(204);
      expect(pool.scale).toBe(1);
    } finally {
      await serving.close();
    }
  });

  it('reports the same cold-start figure from the activator and the function (regression: 3287 vs 432 ms)', async () => {
    const spec = loadServiceSpec(makeFunction('figure', {}));
    const lines: string[] = [];
    const activatorLines: string[] = [];
    const destination = {
      write: (l: string) => void activatorLines.push(l),
    } as unknown as NodeJS.WritableStream;
    const serving = createLocalServing({
      services: [spec],
      runtime: { ...runtime, env: { LOG_LEVEL: 'info' }, onOutput: (l) => lines.push(l) },
      logger: createLogger({ name: 'serving-test', level: 'info', destination }),
      startTimeoutMs: 150_000,
    });
    await serving.start('http://127.0.0.1:1');
    try {
      expect((await post(serving, 'figure', event())).status).toBe(204);
      const fnReady = await waitFor(() =>
        lines.map((l) => JSON.parse(l)).find((r) => r.msg === 'function ready'),
      );
      const instanceReady = activatorLines.map((l) => JSON.parse(l)).find((r) => r.msg === 'instance ready');
      expect(typeof fnReady.coldStartMs).toBe('number');
      expect(instanceReady.startMs).toBe(fnReady.coldStartMs);
      expect(Object.keys(fnReady.phasesMs)).toEqual(['import', 'init', 'host', 'listen']);
    } finally {
      await serving.close();
    }
  });

  it('recycle() stops the running instances, so the next event runs changed code', async () => {
    const spec = loadServiceSpec(makeFunction('changing', {}));
    const serving = createLocalServing({ services: [spec], runtime, logger, startTimeoutMs: 150_000 });
    await serving.start('http://127.0.0.1:1');
    try {
      const pool = serving.pools.get('default/changing')!;
      expect((await post(serving, 'changing', event())).status).toBe(204);
      writeFileSync(spec.functionPath, 'export function handle() { throw new Error("changed"); }\n');
      pool.recycle();
      await waitFor(() => pool.scale === 0, { timeoutMs: 15_000, message: 'recycled instance stopped' });
      expect((await post(serving, 'changing', event())).status).toBe(500);
    } finally {
      await serving.close();
    }
  });

  it('scales out up to max-scale when in-flight events exceed the target, never beyond', async () => {
    const spec = loadServiceSpec(
      makeFunction('busy', {
        'autoscaling.knative.dev/target': '1',
        'autoscaling.knative.dev/max-scale': '3',
        'autoscaling.knative.dev/scale-to-zero-pod-retention-period': '30s',
      }),
    );
    const serving = createLocalServing({ services: [spec], runtime, logger, startTimeoutMs: 150_000 });
    await serving.start('http://127.0.0.1:1');
    try {
      const pool = serving.pools.get('default/busy')!;
      let maxSeen = 0;
      const timer = setInterval(() => {
        maxSeen = Math.max(maxSeen, pool.scale);
      }, 5);
      const results = await Promise.all(Array.from({ length: 8 }, () => post(serving, 'busy', event(400))));
      clearInterval(timer);
      expect(results.every((r) => r.status === 204)).toBe(true);
      expect(maxSeen).toBeGreaterThan(1);
      expect(maxSeen).toBeLessThanOrEqual(3);
      expect(pool.scale).toBeLessThanOrEqual(3);
    } finally {
      await serving.close();
    }
  });

  it('keeps min-scale instances running from start and through idle periods', async () => {
    const spec = loadServiceSpec(
      makeFunction('warm', {
        'autoscaling.knative.dev/min-scale': '1',
        'autoscaling.knative.dev/scale-to-zero-pod-retention-period': '300ms',
      }),
    );
    const serving = createLocalServing({ services: [spec], runtime, logger, startTimeoutMs: 150_000 });
    await serving.start('http://127.0.0.1:1');
    try {
      const pool = serving.pools.get('default/warm')!;
      expect(pool.scale).toBe(1);
      expect((await post(serving, 'warm', event())).status).toBe(204);
      await new Promise((r) => setTimeout(r, 1500));
      expect(pool.scale).toBe(1);
    } finally {
      await serving.close();
    }
  });

  it('resolves subscriber.ref to the activator URL and rejects unknown services with the known names', async () => {
    const spec = loadServiceSpec(makeFunction('named', {}));
    const serving = createLocalServing({ services: [spec], runtime, logger, startTimeoutMs: 150_000 });
    await serving.start('http://127.0.0.1:8090/');
    try {
      expect(
        serving.resolve({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'named' }, 'default'),
      ).toBe('http://127.0.0.1:8090/default/named');
      expect(() => serving.resolve({ kind: 'Service', name: 'nope' }, 'default')).toThrow(
        /known services: default\/named/,
      );
      expect(() => serving.resolve({ apiVersion: 'v1', kind: 'Pod', name: 'x' }, 'default')).toThrow(
        /only Knative Services/,
      );
    } finally {
      await serving.close();
    }
  });
});
