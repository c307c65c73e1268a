// The sign-in page in a real browser (jwt mode): a visitor without a session sees only the sign-in form; a
// service_role key signs in (session cookie), and the dashboard then loads its data.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createLogger } from '@tributary/shared';
import { SignJWT } from 'jose';
import type { BrowserContext, Page } from 'playwright-core';
import { createDashboard, type RunningDashboard } from './dashboard.js';
import { launchChromium } from './test-browser.js';

jest.setTimeout(180_000);

const repoRoot = resolve(import.meta.dirname, '../../..');
const SECRET = 'signin-browser-test-secret-0123456789abcdef';
const logger = createLogger({ name: 'signin-test', level: 'silent' });

describe('dashboard sign-in in a browser', () => {
  let dashboard: RunningDashboard;
  let context: BrowserContext;
  let page: Page;
  let work: string;

  beforeAll(async () => {
    execFileSync('bash', [join(repoRoot, 'scripts/ensure-chromium.sh')], { stdio: 'inherit' });
    work = mkdtempSync(join(tmpdir(), 'tributary-signin-'));
    dashboard = await createDashboard({
      logger,
      port: 0,
      auth: { mode: 'jwt', jwtSecret: SECRET },
      intervalMs: 60_000,
    });
    ({ context, page } = await launchChromium(join(work, 'profile')));
  });

  afterAll(async () => {
    await context?.close();
    await dashboard?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('shows only the sign-in form, refuses a wrong key, and signs in with a service_role key', async () => {
    await page.goto(dashboard.url);
    await page.locator('#signin').waitFor({ state: 'visible', timeout: 30_000 });
    expect(await page.locator('#dead-letters').count()).toBe(0);

    const anon = await new SignJWT({ role: 'anon' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET));
    await page.fill('#signin-token', anon);
    await page.click('#signin button[type=submit]');
    await page.locator('#signin-error', { hasText: 'may not operate' }).waitFor({ timeout: 30_000 });
    const error = await page.locator('#signin-error').textContent();
    expect(error).toMatch(/may not operate/);

    const key = await new SignJWT({ role: 'service_role', sub: 'ops-browser' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET));
    await page.fill('#signin-token', key);
    await Promise.all([page.waitForEvent('load'), page.click('#signin button[type=submit]')]);
    await page.locator('#dead-letters').waitFor({ state: 'attached', timeout: 30_000 });
    expect(await page.locator('#signin').count()).toBe(0);
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'tributary_dashboard_session')).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
    });
  });
});
