// The dashboard in a real browser (headless Chromium through playwright-core) on a real platform slice:
// Postgres (broker log, dead letters, db-events replication), the broker with two Triggers, a local Knative
// Serving activator running a real function process, db-events, and the dashboard. Screenshots go to
// services/dashboard/test-results/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  buildApp as buildDbEvents,
  type DbEventsApp,
  loadEnv as loadDbEventsEnv,
} from '@tributary/db-events';
import {
  createDeadLetterStore,
  createLocalServing,
  createPostgresLog,
  type DeadLetterStore,
  deadLetterTokenSource,
  type LocalServing,
  loadServiceSpec,
  type PostgresBrokerLog,
  parseResources,
  type RunningBroker,
  startBroker,
} from '@tributary/eventing';
import { createCloudEvent, createLogger, encodeHttpBinary } from '@tributary/shared';
import { freePort, testEnv, uniquePublication, uniqueSchema, uniqueSlot } from '@tributary/testing';
import pg from 'pg';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { request } from 'undici';
import { createDashboard, type RunningDashboard } from './dashboard.js';
import { launchChromium } from './test-browser.js';

const JWT_SECRET = 'browser-test-platform-jwt-secret-0123456789';

jest.setTimeout(300_000);

const repoRoot = resolve(import.meta.dirname, '../../..');
const shots = resolve(import.meta.dirname, '../test-results');
const logger = createLogger({
  name: 'dashboard-browser-test',
  level: process.env.TEST_LOG_LEVEL ?? 'silent',
});
const schema = uniqueSchema('dash');
const ns = 'shop';
const brokerName = 'orders';

/** Polls a locator's text until `ok` (the page updates live), then asserts on it. */
async function see(l: Locator, ok: (text: string) => boolean, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  for (;;) {
    text = (await l.count()) > 0 ? await l.first().innerText() : '';
    if (ok(text) || Date.now() > deadline) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
}
const seeText = async (l: Locator, t: string) => expect(await see(l, (x) => x.trim() === t)).toBe(t);
const seeContains = async (l: Locator, t: string) => expect(await see(l, (x) => x.includes(t))).toContain(t);
async function seeVisible(l: Locator): Promise<void> {
  await l.first().waitFor({ state: 'visible', timeout: 30_000 });
  expect(await l.first().isVisible()).toBe(true);
}

describe('ops dashboard in a browser', () => {
  let work: string;
  let log: PostgresBrokerLog;
  let store: DeadLetterStore;
  let serving: LocalServing;
  let broker: RunningBroker;
  let dashboard: RunningDashboard;
  let dbEvents: DbEventsApp;
  let audit: Server;
  const audited: string[] = [];
  let context: BrowserContext;
  let page: Page;
  let fixFile: string;
  let processedFile: string;
  const slot = uniqueSlot('dash');
  const publication = uniquePublication('dash');

  async function shot(name: string) {
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  }

  beforeAll(async () => {
    // The project installs Debian's Chromium itself (no browser download by playwright).
    execFileSync('bash', [join(repoRoot, 'scripts/ensure-chromium.sh')], { stdio: 'inherit' });
    mkdirSync(shots, { recursive: true });
    work = mkdtempSync(join(tmpdir(), 'tributary-dashboard-'));
    fixFile = join(work, 'billing-fixed');
    processedFile = join(work, 'billed.txt');

    // A function (Knative Service "billing") that fails until the "fix" is deployed (a file appears).
    const fn = join(work, 'billing');
    mkdirSync(join(fn, 'src'), { recursive: true });
    writeFileSync(
      join(fn, 'src/index.ts'),
      `import { appendFileSync, existsSync } from 'node:fs';
       export async function handle(_context: unknown, event: { id: string }) {
         if (!existsSync(process.env.FIX_FILE as string)) throw new Error('billing backend unavailable');
         appendFileSync(process.env.PROCESSED_FILE as string, event.id + '\\n');
         return undefined;
       }\n`,
    );
    writeFileSync(
      join(fn, 'service.yaml'),
      `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: billing
  namespace: ${ns}
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/max-scale: "3"
    spec:
      containers:
        - image: example/billing
`,
    );
    serving = createLocalServing({
      services: [loadServiceSpec(join(fn, 'service.yaml'))],
      runtime: {
        args: [
          '--conditions=development',
          '--import',
          'tsx',
          join(repoRoot, 'services/functions/runtime/src/main.ts'),
        ],
        env: { LOG_LEVEL: 'warn', FIX_FILE: fixFile, PROCESSED_FILE: processedFile },
        onOutput: () => {},
      },
      logger,
      startTimeoutMs: 150_000,
    });
    const activatorUrl = (await serving.app.listen({ port: 0, host: '127.0.0.1' })).replace(
      '[::1]',
      '127.0.0.1',
    );
    await serving.start(activatorUrl);

    // A plain HTTP subscriber for the "audit" Trigger.
    audit = createHttpServer((req, res) => {
      audited.push(String(req.headers['ce-id']));
      req.resume();
      req.on('end', () => res.writeHead(202).end());
    });
    await new Promise<void>((r) => audit.listen(0, '127.0.0.1', r));
    const auditUrl = `http://127.0.0.1:${(audit.address() as { port: number }).port}/`;

    log = createPostgresLog({ databaseUrl: testEnv().databaseUrl, schema, logger, pollIntervalMs: 200 });
    const brokerPort = await freePort();
    const brokerUrl = `http://127.0.0.1:${brokerPort}`;

    // The database db-events watches.
    const client = new pg.Client({ connectionString: testEnv().databaseUrl });
    await client.connect();
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`CREATE TABLE ${schema}.customers (id int PRIMARY KEY, name text)`);
    await client.end();
    dbEvents = buildDbEvents(
      loadDbEventsEnv({
        DATABASE_URL: testEnv().databaseUrl,
        DB_EVENTS_SLOT: slot,
        DB_EVENTS_PUBLICATION: publication,
        DB_EVENTS_TABLES: `${schema}.customers`,
        DB_EVENTS_HEARTBEAT_MS: '1000',
        K_SINK: `${brokerUrl}/${ns}/${brokerName}`,
        LOG_LEVEL: 'silent',
      }),
      { logger },
    );
    const dbEventsUrl = (await dbEvents.server.listen({ port: 0, host: '127.0.0.1' })).replace(
      '[::1]',
      '127.0.0.1',
    );
    dbEvents.start();

    store = createDeadLetterStore({ databaseUrl: testEnv().databaseUrl, schema, logger, ingress: brokerUrl });
    const yaml = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: ${brokerName}, namespace: ${ns} }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: audit, namespace: ${ns} }
spec:
  broker: ${brokerName}
  subscriber: { uri: ${auditUrl} }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: billing, namespace: ${ns} }
spec:
  broker: ${brokerName}
  filters:
    - cesql: "type = 'com.example.order.placed' AND total > 0"
  subscriber:
    ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: billing }
  delivery:
    retry: 1
    backoffDelay: PT0.1S
    deadLetterSink: { uri: DLS }`;
    const dashPort = await freePort();
    const resources = parseResources([
      {
        file: 'platform.yaml',
        text: yaml.replace('DLS', `http://127.0.0.1:${dashPort}/dead-letters/${ns}/${brokerName}`),
      },
    ]);
    dashboard = await createDashboard({
      logger,
      // As under `tributary dev`: loopback only, and the sink checks the dispatchers' tokens.
      auth: { mode: 'local', jwtSecret: JWT_SECRET },
      port: dashPort,
      brokerUrls: [brokerUrl],
      activatorUrl,
      dbEventsUrls: [dbEventsUrl],
      log,
      deadLetters: store,
      resources,
      intervalMs: 500,
    });
    broker = await startBroker({
      resources,
      log,
      logger,
      port: brokerPort,
      deadLetterToken: deadLetterTokenSource(JWT_SECRET),
      resolver: { resolve: (ref) => serving.resolve(ref, ref.namespace) },
      dispatch: { lagIntervalMs: 500, closeGraceMs: 1000 },
    });

    ({ context, page } = await launchChromium(join(work, 'chromium-profile'), {
      extraArgs: ['--disable-quic', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1440, height: 1000 },
    }));
    page.on('dialog', (d) => void d.accept());
  });

  afterAll(async () => {
    await context?.close();
    await broker?.close();
    await dashboard?.close();
    await dbEvents?.close();
    await serving?.app.close();
    await serving?.close();
    await store?.close();
    await log?.close();
    await new Promise<void>((r) => (audit ? audit.close(() => r()) : r()));
    const client = new pg.Client({ connectionString: testEnv().databaseUrl });
    await client.connect();
    await client
      .query('SELECT pg_drop_replication_slot($1) FROM pg_replication_slots WHERE slot_name = $1', [slot])
      .catch(() => {});
    await client.query(`DROP PUBLICATION IF EXISTS ${publication}`).catch(() => {});
    await client.end();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function publish(id: string, data: Record<string, unknown>, type = 'com.example.order.placed') {
    const { headers, body } = encodeHttpBinary(
      createCloudEvent({
        type,
        source: '/shop/checkout',
        id,
        subject: `order/${id}`,
        total: data.total,
        data,
      }),
    );
    const res = await request(broker.brokerUrl({ namespace: ns, name: brokerName }), {
      method: 'POST',
      headers,
      body,
    });
    await res.body.dump();
    expect(res.statusCode).toBe(202);
  }

  const trigger = (name: string) => page.locator(`[data-trigger="${ns}/${name}"]`);

  it('shows the platform live, and an invalid tail filter with the caret excerpt', async () => {
    await page.goto(dashboard.url);
    await seeText(page.getByTestId('live'), 'live');
    await page.locator(`[data-broker="${ns}/${brokerName}"]`).waitFor();
    await seeText(
      trigger('billing').locator('.filter'),
      "cesql(type = 'com.example.order.placed' AND total > 0)",
    );
    await page.locator(`[data-function="${ns}/billing"]`).waitFor();
    await seeContains(page.getByTestId('slots'), 'wal_status');

    await page.getByTestId('tail-filter').fill("type = 'com.example.order.placed' AND (");
    await page.getByTestId('tail-start').click();
    const err = page.getByTestId('tail-error');
    await seeVisible(err);
    await seeContains(err, `type = 'com.example.order.placed' AND (\n${' '.repeat(39)}^`);
    await shot('01-invalid-filter');
  });

  it('a published event shows in the counts and in the live tail', async () => {
    await page.getByTestId('tail-filter').fill("source = '/shop/checkout'");
    await page.getByTestId('tail-start').click();
    await seeContains(page.getByTestId('tail-state'), 'waiting for events');

    await publish('order-1001', { total: 0, items: ['tea'] });
    await seeVisible(page.locator('[data-testid="tail-events"] li[data-id="order-1001"]'));
    await seeText(page.locator(`[data-broker="${ns}/${brokerName}"] [data-testid="ingress-accepted"]`), '1');
    await seeText(trigger('audit').getByTestId('delivered'), '1');
    expect(audited).toContain('order-1001');
    // A database change travels db-events -> broker -> tail too (the filter lets only checkout events in).
    await page.getByTestId('tail-filter').fill("type LIKE 'dev.tributary.db.%'");
    await page.getByTestId('tail-start').click();
    await seeContains(page.getByTestId('tail-state'), 'waiting for events');
    const client = new pg.Client({ connectionString: testEnv().databaseUrl });
    await client.connect();
    await client.query(`INSERT INTO ${schema}.customers VALUES (7, 'Ada')`);
    await client.end();
    await seeVisible(
      page.locator('[data-testid="tail-events"] li[data-type="dev.tributary.db.row.inserted"]'),
    );
    await shot('02-counts-and-tail');
  });

  it('a failing function dead-letters; inspecting shows the error; redrive delivers it', async () => {
    await publish('order-1002', { total: 42, items: ['coffee'] });
    const row = page.locator('#dead-letters tr[data-event-id="order-1002"]');
    await seeVisible(row);
    await seeText(page.getByTestId('dl-count'), '1');
    await seeContains(trigger('billing').getByTestId('trigger-totals'), '/ 1');
    // The function ran (cold start) and is scaled to at least 1.
    const scale = page.locator(`[data-function="${ns}/billing"] [data-testid="scale"]`);
    expect(Number(await see(scale, (x) => Number(x) > 0))).toBeGreaterThan(0);

    await row.click();
    const detail = page.getByTestId('dl-detail');
    await seeVisible(detail);
    await seeContains(page.getByTestId('dl-attributes'), 'knativeerrorcode');
    await seeContains(page.getByTestId('dl-attributes'), '500');
    await seeContains(page.getByTestId('dl-body'), '"coffee"');
    await shot('03-dead-letter-inspected');

    writeFileSync(fixFile, 'deployed'); // the fix is out
    await row.getByTestId('redrive').click();
    await seeContains(page.getByTestId('dl-message'), 'Redrove dead letter');
    await page.locator('#dl-status').selectOption('all');
    await seeText(row.getByTestId('dl-status'), 'redriven');
    await seeText(trigger('billing').getByTestId('delivered'), '1');
    expect(existsSync(processedFile) && readFileSync(processedFile, 'utf8')).toContain('order-1002');
    await seeText(page.getByTestId('dl-count'), '0');
    await shot('04-redriven');
  });
});
