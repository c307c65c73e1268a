// The dashboard's replay panel in a real browser (headless Chromium through playwright-core), local mode, on a
// real broker over the real Postgres log: preview a Trigger's replay (nothing moves), then replay it and see
// the events delivered again.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  createPostgresLog,
  type PostgresBrokerLog,
  parseResources,
  type RunningBroker,
  startBroker,
} from '@tributary/eventing';
import { createCloudEvent, createLogger } from '@tributary/shared';
import { testEnv, uniqueName, uniqueSchema } from '@tributary/testing';
import type { BrowserContext, Page } from 'playwright-core';
import { createDashboard, type RunningDashboard } from './dashboard.js';
import { launchChromium } from './test-browser.js';

jest.setTimeout(180_000);

const repoRoot = resolve(import.meta.dirname, '../../..');
const logger = createLogger({ name: 'replay-browser-test', level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('dashboard replay panel in a browser', () => {
  const ns = 'shop';
  const name = uniqueName('orders').replace(/_/g, '-');
  const received: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push(String(req.headers['ce-id']));
      res.writeHead(202).end();
    });
  });
  let log: PostgresBrokerLog;
  let broker: RunningBroker;
  let dashboard: RunningDashboard;
  let context: BrowserContext;
  let page: Page;
  let work: string;

  const waitFor = async (n: number) => {
    const deadline = Date.now() + 30_000;
    while (received.length < n) {
      if (Date.now() > deadline) throw new Error(`expected ${n} deliveries, got ${received.length}`);
      await sleep(50);
    }
  };

  beforeAll(async () => {
    execFileSync('bash', [join(repoRoot, 'scripts/ensure-chromium.sh')], { stdio: 'inherit' });
    work = mkdtempSync(join(tmpdir(), 'tributary-replay-'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const resources = parseResources([
      {
        file: 'shop.yaml',
        text: `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: ${name}, namespace: ${ns} }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ship
  namespace: ${ns}
  annotations: { tributary.dev/initial-offset: earliest }
spec:
  broker: ${name}
  subscriber: { uri: "${uri}" }`,
      },
    ]);
    log = createPostgresLog({
      databaseUrl: testEnv().databaseUrl,
      schema: uniqueSchema('replaybrowser'),
      logger,
      pollIntervalMs: 200,
    });
    broker = await startBroker({ resources, log, logger, port: 0, dispatch: { lagIntervalMs: 0 } });
    dashboard = await createDashboard({
      logger,
      port: 0,
      log,
      resources,
      intervalMs: 60_000,
      auth: { mode: 'local' },
    });
    await log.append(
      { namespace: ns, name },
      ['o1', 'o2', 'o3'].map((id) => createCloudEvent({ type: 'com.example.order', source: '/shop', id })),
    );
    await waitFor(3);
    ({ context, page } = await launchChromium(join(work, 'profile')));
  });

  afterAll(async () => {
    await context?.close();
    await dashboard?.close();
    await broker?.close();
    await log?.close();
    await new Promise<void>((r) => server.close(() => r()));
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('previews, then replays after a confirmation', async () => {
    await page.goto(dashboard.url);
    await page.locator('#replay-trigger option').first().waitFor({ state: 'attached', timeout: 30_000 });
    expect(await page.locator('#replay-trigger').inputValue()).toBe(`${ns}/ship`);

    await page.fill('#replay-from', 'not a time');
    await page.click('#replay-preview');
    await page.locator('#replay-message', { hasText: 'RFC 3339' }).waitFor({ timeout: 30_000 });
    expect(await page.locator('#replay-apply').isDisabled()).toBe(true);

    await page.fill('#replay-from', 'earliest');
    await page.click('#replay-preview');
    await page
      .locator('#replay-message', { hasText: 'would be delivered again' })
      .waitFor({ timeout: 30_000 });
    expect(await page.locator('#replay-message').innerText()).toContain(
      `${ns}/ship from earliest: 3 event(s) would be delivered again.`,
    );
    expect(await page.locator('#replay-plan tr').allInnerTexts()).toEqual(['0\t3\t0\t3']);
    await sleep(300);
    expect(received).toHaveLength(3); // a preview moves nothing

    let asked = '';
    page.once('dialog', (d) => {
      asked = d.message();
      void d.accept();
    });
    await page.click('#replay-apply');
    await page.locator('#replay-message', { hasText: 'Replayed' }).waitFor({ timeout: 30_000 });
    expect(asked).toContain(`${ns}/ship from earliest`);
    await waitFor(6);
    expect(received.slice(3).sort()).toEqual(['o1', 'o2', 'o3']);
    await page
      .locator('[data-testid=replay]')
      .screenshot({ path: resolve(import.meta.dirname, '../test-results/replay.png') });
  });
});
