// Headless Chromium for the dashboard's browser tests (the Debian package, driven by playwright-core): one
// persistent profile per test file, so each file's cookies and storage are its own.
import { type BrowserContext, chromium, type Page } from 'playwright-core';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
];

export interface LaunchOptions {
  /** Flags beside the common ones. */
  extraArgs?: string[];
  viewport?: { width: number; height: number };
}

/** Starts Chromium on `profileDir` and returns its context and first page. */
export async function launchChromium(
  profileDir: string,
  { extraArgs = [], viewport }: LaunchOptions = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [...ARGS, ...extraArgs],
    ...(viewport ? { viewport } : {}),
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return { context, page };
}
