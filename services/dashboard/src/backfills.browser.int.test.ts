// The Backfills panel in a real browser (headless Chromium): a pending backfill of db-events' progress table
// is listed, and Cancel (after the confirmation) cancels it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { ensureBackfillSchema } from '@tributary/db-events';
import { createLogger } from '@tributary/shared';
import { testEnv, uniqueSchema } from '@tributary/testing';
import pg from 'pg';
import type { BrowserContext, Page } from 'playwright-core';
import { createDashboard, type RunningDashboard } from './dashboard.js';
import { launchChromium } from './test-browser.js';

jest.setTimeout(180_000);

const repoRoot = resolve(import.meta.dirname, '../../..');

describe('backfills panel in a browser', () => {
  const schema = uniqueSchema('dashbfb');
  const dbe = `${schema}_dbe`;
  let pool: pg.Pool;
  let dashboard: RunningDashboard;
  let context: BrowserContext;
  let page: Page;
  let work: string;
  let id: string;

  beforeAll(async () => {
    execFileSync('bash', [join(repoRoot, 'scripts/ensure-chromium.sh')], { stdio: 'inherit' });
    const databaseUrl = testEnv().databaseUrl;
    pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    await ensureBackfillSchema(pool, dbe);
    await pool.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.accounts (id int PRIMARY KEY)`);
    id = (await pool.query(`SELECT ${dbe}.backfill('${schema}.accounts', filter => 'id > 10') AS id`)).rows[0]
      .id;
    work = mkdtempSync(join(tmpdir(), 'tributary-backfills-'));
    dashboard = await createDashboard({
      logger: createLogger({ name: 'backfills-browser-test', level: 'silent' }),
      port: 0,
      auth: { mode: 'local' },
      intervalMs: 60_000,
      databaseUrl,
      backfillSchema: dbe,
    });
    ({ context, page } = await launchChromium(join(work, 'profile')));
  });

  afterAll(async () => {
    await context?.close();
    await dashboard?.close();
    await pool?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP SCHEMA IF EXISTS ${dbe} CASCADE`);
    await pool?.end();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('lists a pending backfill and cancels it', async () => {
    await page.goto(dashboard.url);
    const row = page.locator('[data-testid="backfills"] tbody tr', { hasText: id });
    await row.waitFor({ state: 'visible', timeout: 30_000 });
    expect(await row.innerText()).toMatch(new RegExp(`${id}\\s+${schema}\\.accounts\\s+pending`));
    expect(await row.innerText()).toContain('id > 10');
    page.once('dialog', (d) => void d.accept());
    await row.locator('button', { hasText: 'Cancel' }).click();
    await page
      .locator('[data-testid="backfills"] tbody tr[data-state="cancelled"]', { hasText: id })
      .waitFor({ timeout: 30_000 });
    const { rows } = await pool.query(`SELECT state FROM ${dbe}.backfills WHERE id = $1`, [id]);
    expect(rows[0].state).toBe('cancelled');
    expect(await row.locator('button').count()).toBe(0);
  });
});
