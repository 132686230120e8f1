/**
 * `npm run screenshots`: the pictures in docs/screenshots/, taken from the real stack in Debian's Chromium,
 * once in the light scheme and once in the dark (`-dark` in the name). The dialog is taken at the real size
 * of the popup include.js opens (DIALOG_SIZE), the pages at a laptop's 1024×700 (and the account page at a
 * phone's 390×844 too). The stack runs with the example site, an SMTP sink catches the sign-up mail, and an
 * account is made with signUp (test/helpers/flows.ts). Then, as a person would: the example site →
 * "Sign in with your email" → the dialog's email screen → a new address's screen → the password screen →
 * the site signed in → the pick screen → Persona's account page; and the account page signed out.
 *
 * Elements are found by their label and role (the dialog's markup may change; its words stay). The account
 * page is taken only if it shows the address within 5 s of loading; otherwise it is skipped with a note.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { DIALOG_SIZE } from '../src/browser/protocol.ts';
import { CHROMIUM, launchChromium, type LaunchedBrowser } from '../test/browser/chromium.ts';
import { PASSWORD, signUp } from '../test/helpers/flows.ts';
import { startSmtpSink, type SmtpSink } from '../test/helpers/smtp.ts';
import { startStack, type Stack } from '../test/helpers/stack.ts';

const EMAIL = 'alice@example.com';
const VIEWPORT = { width: 1024, height: 700 };
const PHONE = { width: 390, height: 844 };
type Scheme = 'light' | 'dark';
const STEP_TIMEOUT_MS = 15_000;
const ACCOUNT_TIMEOUT_MS = 5_000;

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'docs', 'screenshots');

/** What an interruption must undo: the tiers and Chromium are processes of their own. */
const onInterrupt = new Set<() => Promise<unknown>>();
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    console.error(`\n${signal}: stopping`);
    void Promise.allSettled([...onInterrupt].map((undo) => undo())).finally(() => process.exit(130));
  });

const started = performance.now();
const log = (text: string): void => {
  console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${text}`);
};

let scheme: Scheme = 'light';

async function shoot(page: Page, name: string): Promise<void> {
  const path = join(outDir, scheme === 'light' ? name : name.replace(/\.png$/, '-dark.png'));
  await page.screenshot({ path, animations: 'disabled', caret: 'hide' });
  log(`wrote ${relative(root, path)}`);
}

async function main(): Promise<void> {
  if (!(await CHROMIUM.present())) {
    throw new Error(`${CHROMIUM.name} is not available here; install it with: ${CHROMIUM.install}`);
  }
  mkdirSync(outDir, { recursive: true });

  let smtp: SmtpSink | undefined;
  let stack: Stack | undefined;
  let browser: LaunchedBrowser | undefined;
  try {
    smtp = await startSmtpSink();
    const sink = smtp;
    onInterrupt.add(() => sink.close());
    stack = await startStack({
      examples: true,
      env: { PERSONA_SMTP_URL: smtp.url, PERSONA_LOG_LEVEL: 'error' },
    });
    const running = stack;
    onInterrupt.add(() => running.stop());
    const site = stack.exampleSite;
    if (site === undefined) throw new Error('the stack runs no example site');
    log(`stack up: Persona ${stack.base}, example site ${site}`);
    await signUp(stack.base, smtp, EMAIL);
    log(`account made for ${EMAIL}`);

    for (const wanted of ['light', 'dark'] as const) {
      scheme = wanted;
      browser = await launchChromium();
      const launched = browser;
      onInterrupt.add(() => launched.close());
      await journey(browser, site, stack.base);
      await browser.close();
      browser = undefined;
    }
  } finally {
    await browser?.close();
    await stack?.stop();
    await smtp?.close();
  }
}

/** A page in the scheme being shot (set before it paints, and again on every popup). */
async function inScheme(page: Page, size: { width: number; height: number }): Promise<Page> {
  await page.emulateMedia({ colorScheme: scheme });
  await page.setViewportSize(size);
  return page;
}

async function journey(browser: LaunchedBrowser, site: string, base: string): Promise<void> {
  {
    const page = await inScheme(await browser.context.newPage(), VIEWPORT);
    await page.goto(site);
    const siteName = (await page.locator('main').getAttribute('data-site-name')) ?? 'Persona example site';

    // The dialog: its email screen once it shows whom the person signs in to.
    const popupOpened = page.waitForEvent('popup', { timeout: STEP_TIMEOUT_MS });
    await page.getByRole('button', { name: 'Sign in with your email' }).click();
    const popup = await inScheme(await popupOpened, DIALOG_SIZE);
    const email = popup.getByLabel('Email address', { exact: true });
    await email.waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
    await popup.getByText(siteName).first().waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
    await shoot(popup, 'dialog-email.png');

    // An address Persona does not know: the new-account screen; then back to the address.
    // A new address each run: a second mail to the same one within a minute would be throttled.
    const newcomer = `newcomer-${scheme}@example.com`;
    await email.fill(newcomer);
    await popup.getByRole('button', { name: 'Next', exact: true }).click();
    await popup
      .getByLabel('Choose a password', { exact: true })
      .waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
    await shoot(popup, 'dialog-new-account.png');
    await popup.getByLabel('Choose a password', { exact: true }).fill(PASSWORD);
    await popup.getByLabel('Type it again', { exact: true }).fill(PASSWORD);
    await popup.getByRole('button', { name: 'Create account', exact: true }).click();
    await popup
      .getByRole('button', { name: 'Send the email again', exact: true })
      .waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
    await shoot(popup, 'dialog-wait.png');
    await popup.getByRole('button', { name: 'Use another address', exact: true }).click();

    await email.fill(EMAIL);
    await popup.getByRole('button', { name: 'Next', exact: true }).click();
    const password = popup.getByLabel('Password', { exact: true });
    await password.waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
    await shoot(popup, 'dialog-password.png');

    await password.fill(PASSWORD);
    const closed = popup.waitForEvent('close', { timeout: STEP_TIMEOUT_MS });
    await popup.getByRole('button', { name: 'Sign in', exact: true }).click();
    await closed;
    await page
      .locator('#who', { hasText: `Signed in as ${EMAIL}` })
      .waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
    await shoot(page, 'example-site-signed-in.png');

    // Signed out of the site, signed in to Persona: the next sign-in offers the address.
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.locator('#who', { hasText: 'Not signed in.' }).waitFor({ timeout: STEP_TIMEOUT_MS });
    const pickOpened = page.waitForEvent('popup', { timeout: STEP_TIMEOUT_MS });
    await page.getByRole('button', { name: 'Sign in with your email' }).click();
    const pick = await inScheme(await pickOpened, DIALOG_SIZE);
    await pick.getByRole('radio', { name: EMAIL }).waitFor({ timeout: STEP_TIMEOUT_MS });
    await shoot(pick, 'dialog-pick.png');
    await pick.close();

    // Persona's account page, signed in by the dialog's session — if it shows the address yet.
    const account = await inScheme(await browser.context.newPage(), VIEWPORT);
    await account.goto(`${base}/`);
    try {
      await account.getByText(EMAIL).first().waitFor({ state: 'visible', timeout: ACCOUNT_TIMEOUT_MS });
      await shoot(account, 'account.png');
      await account.setViewportSize(PHONE);
      await shoot(account, 'account-phone.png');
    } catch {
      const kept = existsSync(join(outDir, 'account.png'))
        ? ' (the existing account.png is left as it was)'
        : '';
      log(
        `NOTE: skipped account.png: ${base}/ did not show ${EMAIL} within ${ACCOUNT_TIMEOUT_MS / 1000} s${kept}`,
      );
    }

    // Signed out: what Persona is, sign in, forgot password, a new account.
    await account.setViewportSize(VIEWPORT);
    await account.getByRole('button', { name: 'Sign out', exact: true }).click();
    await account
      .getByRole('heading', { name: 'Sign in to manage your account' })
      .waitFor({ timeout: STEP_TIMEOUT_MS });
    await shoot(account, 'account-signed-out.png');

    // A landing page as a mail's link opens it (this token is not a real one: the page says so).
    const landing = await inScheme(await browser.context.newPage(), VIEWPORT);
    await landing.goto(`${base}/verify_email_address?token=${'x'.repeat(48)}&lang=de`);
    await landing.getByRole('alert').filter({ hasText: /\S/ }).waitFor({ timeout: STEP_TIMEOUT_MS });
    await shoot(landing, 'landing-de.png');
  }
}

try {
  await main();
  log('done');
  process.exit(0);
} catch (err) {
  console.error(err);
  process.exit(1);
}
