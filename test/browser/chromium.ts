/**
 * Debian's Chromium driven by playwright-core (reference/stack.md §7): headless, the flags that keep it off
 * the network, and a fresh profile each launch. Playwright cannot download browsers here.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Frame, type Page } from 'playwright-core';
import type { Component } from '../helpers/components.ts';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM: Component = {
  name: 'chromium',
  install: 'apt-get install chromium',
  present: () => existsSync(CHROMIUM_PATH),
};

/** stack.md §7, exactly; the profile directory is the launch's own. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

export interface LaunchedBrowser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Chromium's own switch for a browser that refuses third-party cookies (as Safari and Firefox do by default). */
export const BLOCK_THIRD_PARTY_COOKIES = '--test-third-party-cookie-phaseout';

/** A 1366×768 laptop screen (headless Chromium's default screen, 800×600, would clip a 640 px popup). */
export const LAPTOP_SCREEN = '--screen-info={1366x768}';

export interface LaunchOptions {
  /**
   * Windows keep the size they are opened with (window.open's width and height for the dialog popup),
   * rather than Playwright's fixed 1280×720 viewport: what a person's browser does.
   */
  readonly realWindowSizes?: boolean;
}

export async function launchChromium(
  extraArgs: readonly string[] = [],
  options: LaunchOptions = {},
): Promise<LaunchedBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'persona-chromium-'));
  // A persistent context is how playwright takes a --user-data-dir of ours.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_FLAGS, ...extraArgs],
    timeout: 30_000,
    ...(options.realWindowSizes === true ? { viewport: null } : {}),
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Waits until `expression` is truthy in the page, evaluating it from here every 50 ms. Not Playwright's
 * waitForFunction: given a string, that evals it inside the page on each poll, which a page whose CSP has no
 * 'unsafe-eval' (the dialog, the status page) refuses from the second poll on; and given the string of an
 * arrow function, it takes the function itself as the truthy answer.
 */
export async function waitInPage(page: Page | Frame, expression: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await page.evaluate<unknown>(expression)) return;
    } catch (error) {
      // A page still loading or navigating has no globals yet, or no context: not yet, like false.
      last = error;
    }
    if (Date.now() > deadline) {
      const why = last === undefined ? '' : ` (last error: ${String(last)})`;
      throw new Error(`waited ${timeoutMs} ms in ${page.url()} for: ${expression}${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
