/**
 * The design as a person meets it (issue 18), in Chromium against the real stack and the example site, with
 * windows at their real size (the popup as include.js opens it, on a 1366×768 screen):
 *  - every dialog screen's primary button is visible without scrolling, in the light and the dark scheme;
 *  - axe-core finds no WCAG 2.1 A/AA violation on any dialog screen, landing page, account view or the
 *    example site, in either scheme;
 *  - at 200 % zoom (half the CSS pixels) and on a phone, nothing needs sideways scrolling;
 *  - a German journey end to end: the dialog, the landing page and the account page in German;
 *  - no console errors (the favicon above all).
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import axe from 'axe-core';
import type { BrowserContext, Page } from 'playwright-core';
import { DIALOG_SIZE } from '../../src/browser/protocol.ts';
import { missing } from '../helpers/components.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { CHROMIUM, LAPTOP_SCREEN, launchChromium, type LaunchedBrowser } from './chromium.ts';

const skip = await missing(CHROMIUM);

const WAIT = { timeout: 20_000 };
const PASSWORD = 'design password 1';
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** axe-core in the page (through CDP: the pages' CSP allows no script of ours), WCAG 2.1 A and AA. */
async function axeViolations(page: Page): Promise<Violation[]> {
  if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(axe.source);
  return page.evaluate<Violation[]>(
    `axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(AXE_TAGS)} } }).then((r) =>
      r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map((n) => n.target.join(' ') + ': ' + n.failureSummary) })))`,
  );
}

/** Which screens were checked, for the summary at the end. */
const checked: string[] = [];

/** Both schemes: axe finds nothing, and the primary button (if named) shows without scrolling. */
async function check(page: Page, what: string, primary?: string): Promise<void> {
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    const violations = await axeViolations(page);
    assert.deepEqual(violations, [], `${what} (${colorScheme}): ${JSON.stringify(violations, null, 1)}`);
    if (primary !== undefined) {
      const button = page.getByRole('button', { name: primary, exact: true });
      await button.waitFor({ state: 'visible', timeout: 5000 });
      const box = await button.boundingBox();
      const view = await page.evaluate<{ w: number; h: number; y: number }>(
        '({ w: innerWidth, h: innerHeight, y: scrollY })',
      );
      assert.ok(box, `${what}: ${primary} has a box`);
      assert.equal(view.y, 0, `${what}: not scrolled`);
      assert.ok(
        box.y >= 0 && box.y + box.height <= view.h && box.x + box.width <= view.w,
        `${what}: "${primary}" at ${JSON.stringify(box)} is inside the ${view.w}×${view.h} window`,
      );
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  checked.push(what);
}

/** At 200 % zoom (the same window, half the CSS pixels) and on a phone: no sideways scrolling. */
async function reflows(page: Page, what: string): Promise<void> {
  const size = page.viewportSize();
  for (const viewport of [
    { width: Math.floor(DIALOG_SIZE.width / 2), height: Math.floor(DIALOG_SIZE.height / 2) },
    { width: 320, height: 568 },
  ]) {
    await page.setViewportSize(viewport);
    const wide = await page.evaluate<number>(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    assert.ok(wide <= 0, `${what} at ${viewport.width}×${viewport.height}: ${wide} px sideways scrolling`);
  }
  if (size !== null) await page.setViewportSize(size);
}

describe('the design: fit, accessibility, languages', { skip }, () => {
  let smtp: SmtpSink;
  let stack: Stack;
  let site: string;
  let chromium: LaunchedBrowser | undefined;
  let context: BrowserContext;
  const consoleErrors: string[] = [];

  before(async () => {
    smtp = await startSmtpSink();
    stack = await startStack({ examples: true, env: { PERSONA_SMTP_URL: smtp.url } });
    site = stack.exampleSite ?? '';
  });

  /** Each test is a new person: a new profile, windows at their real size on a laptop's screen. */
  beforeEach(async () => {
    chromium = await launchChromium([LAPTOP_SCREEN], { realWindowSizes: true });
    context = chromium.context;
    context.on('page', (page) => {
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(`${page.url()}: ${message.text()}`);
      });
    });
  });

  afterEach(async () => {
    await chromium?.close();
    chromium = undefined;
  });

  after(async () => {
    await stack?.stop();
    await smtp?.close();
  });

  async function openSite(): Promise<Page> {
    const page = await context.newPage();
    await page.setViewportSize({ width: 1024, height: 700 });
    await page.goto(`${site}/`);
    return page;
  }

  async function openDialog(page: Page, button = 'Sign in with your email'): Promise<Page> {
    const [popup] = await Promise.all([
      context.waitForEvent('page'),
      page.getByRole('button', { name: button }).click(),
    ]);
    await popup.waitForSelector('.screen:not([hidden])', WAIT);
    return popup;
  }

  async function linkFor(to: string): Promise<string> {
    const mail = await smtp.waitFor(to, 15_000);
    return String(mail.headers.get('x-browserid-verificationurl'));
  }

  test('the popup opens at its real size, and every screen fits it, light and dark, with no axe violation', async () => {
    const email = 'dee@example.com';
    const page = await openSite();
    await check(page, 'example site, signed out');
    const popup = await openDialog(page);
    const inner = await popup.evaluate<{ w: number; h: number }>('({ w: innerWidth, h: innerHeight })');
    assert.equal(inner.w, DIALOG_SIZE.width);
    // Chromium may round the height by a pixel.
    assert.ok(Math.abs(inner.h - DIALOG_SIZE.height) <= 2, `popup inner height ${inner.h}`);

    await check(popup, 'dialog: email', 'Next');
    await reflows(popup, 'dialog: email');
    await popup.getByLabel('Email address').fill(email);
    await popup.getByRole('button', { name: 'Next', exact: true }).click();
    await popup.getByLabel('Choose a password').waitFor(WAIT);
    await check(popup, 'dialog: new account', 'Create account');
    await reflows(popup, 'dialog: new account');
    // With an error shown, the button still fits.
    await popup.getByLabel('Choose a password').fill(PASSWORD);
    await popup.getByLabel('Type it again').fill('something else');
    await popup.getByRole('button', { name: 'Create account', exact: true }).click();
    await popup.getByRole('alert').filter({ hasText: 'not the same' }).waitFor(WAIT);
    await check(popup, 'dialog: new account, with an error', 'Create account');
    await popup.getByLabel('Type it again').fill(PASSWORD);
    await popup.getByRole('button', { name: 'Create account', exact: true }).click();
    await popup
      .getByRole('status')
      .filter({ hasText: `We sent an email to ${email}` })
      .waitFor(WAIT);
    await check(popup, 'dialog: waiting for the mail', 'Send the email again');

    // The mail's landing page, in this browser: confirmed, and the dialog carries on.
    const link = await linkFor(email);
    const landing = await context.newPage();
    await landing.setViewportSize({ width: 1024, height: 700 });
    const closed = popup.waitForEvent('close', WAIT);
    await landing.goto(link);
    await landing.getByRole('status').filter({ hasText: 'is confirmed' }).waitFor(WAIT);
    await check(landing, 'landing page: confirmed');
    await reflows(landing, 'landing page');
    await closed;
    await page.locator(`#main[data-user="${email}"]`).waitFor(WAIT);
    await check(page, 'example site, signed in');

    // Signed in to Persona: the pick screen; then signed out of Persona, the password screen.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#main[data-user=""]').waitFor(WAIT);
    const pick = await openDialog(page);
    await pick.getByRole('radio', { name: email }).waitFor(WAIT);
    await check(pick, 'dialog: pick an address', 'Sign in');
    await pick.getByRole('button', { name: 'Sign out of Persona' }).click();
    await pick.getByLabel('Email address').waitFor(WAIT);
    await pick.getByLabel('Email address').fill(email);
    await pick.getByRole('button', { name: 'Next', exact: true }).click();
    await pick.getByLabel('Password', { exact: true }).waitFor(WAIT);
    await check(pick, 'dialog: password', 'Sign in');
    await reflows(pick, 'dialog: password');
    // Password managers get the address beside the password.
    assert.equal(await pick.locator('#password-username').inputValue(), email);
    await pick.getByLabel('Password', { exact: true }).fill('not the password');
    await pick.getByRole('button', { name: 'Sign in', exact: true }).click();
    await pick.getByRole('alert').filter({ hasText: 'not right' }).waitFor(WAIT);
    await check(pick, 'dialog: wrong password', 'Sign in');
    await pick.close();

    // The account page: signed out (what Persona is, sign in, forgot, sign up), then signed in.
    const account = await context.newPage();
    await account.setViewportSize({ width: 1024, height: 700 });
    await account.goto(`${stack.base}/`);
    await account.getByRole('heading', { name: 'Sign in to manage your account' }).waitFor(WAIT);
    await check(account, 'account: signed out', 'Sign in');
    await account.getByRole('button', { name: 'Create an account' }).click();
    await account.getByRole('heading', { name: 'Create a Persona account' }).waitFor(WAIT);
    await check(account, 'account: signed out, new account form');
    await reflows(account, 'account: signed out');
    await account.getByLabel('Email address').first().fill(email);
    await account.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await account.getByRole('button', { name: 'Sign in', exact: true }).click();
    await account.getByRole('heading', { name: 'Your email addresses' }).waitFor(WAIT);
    await check(account, 'account: signed in');
    await reflows(account, 'account: signed in');

    // A broken link's landing page.
    await landing.goto(`${stack.base}/verify_email_address?token=${'a'.repeat(48)}`);
    await landing.getByRole('alert').filter({ hasText: 'already used' }).waitFor(WAIT);
    await check(landing, 'landing page: a used link');
    for (const p of [page, account, landing]) await p.close();
  });

  test('an address of a primary IdP is told to sign in at its provider on the account page', async () => {
    // The example primary IdP's domain (the stack runs it with examples: true).
    const domain = 'example.domain';
    const account = await context.newPage();
    await account.goto(`${stack.base}/`);
    await account.getByLabel('Email address').first().fill(`pat@${domain}`);
    await account.getByLabel('Password', { exact: true }).fill('whatever password');
    await account.getByRole('button', { name: 'Sign in', exact: true }).click();
    await account
      .getByRole('alert')
      .filter({ hasText: `signs in at its own provider, ${domain}` })
      .waitFor(WAIT);
    await check(account, 'account: a primary address');
    await account.close();
  });

  test('the account page on its own: a new account, its mail, signed in; then forgot password', async () => {
    const email = 'sol@example.com';
    const account = await context.newPage();
    await account.goto(`${stack.base}/`);
    await account.getByRole('button', { name: 'Create an account' }).click();
    await account.getByLabel('Email address').nth(1).fill(email);
    await account.locator('#sign-up-new-password').fill(PASSWORD);
    await account.locator('#sign-up-repeat-password').fill(PASSWORD);
    await account.getByRole('button', { name: 'Create an account', exact: true }).last().click();
    await account
      .getByRole('status')
      .filter({ hasText: `We sent an email to ${email}` })
      .waitFor(WAIT);
    const landing = await context.newPage();
    await landing.goto(await linkFor(email));
    await landing.getByRole('status').filter({ hasText: 'is confirmed' }).waitFor(WAIT);
    // The account page saw the link opened in this browser: signed in, by itself.
    await account.getByRole('heading', { name: 'Your email addresses' }).waitFor(WAIT);
    assert.equal(await account.locator('#emails li span').textContent(), email);

    await account.getByRole('button', { name: 'Sign out', exact: true }).click();
    await account.getByRole('heading', { name: 'Sign in to manage your account' }).waitFor(WAIT);
    await account.getByLabel('Email address').first().fill(email);
    await account.getByRole('button', { name: 'Forgot your password?' }).click();
    await account.getByRole('status').filter({ hasText: 'choose a new password' }).waitFor(WAIT);
    await landing.goto(await linkFor(email));
    await landing.getByLabel('New password', { exact: true }).fill('another password 2');
    await landing.getByLabel('Type the new password again').fill('another password 2');
    await landing.getByRole('button', { name: 'Save password' }).click();
    await landing.getByRole('status').filter({ hasText: 'Your new password is saved' }).waitFor(WAIT);
    await account.getByRole('heading', { name: 'Your email addresses' }).waitFor(WAIT);
    for (const p of [account, landing]) await p.close();
  });

  test('a German journey end to end: the dialog, the landing page and the account page speak German', async () => {
    const email = 'jana@example.com';
    await context.setExtraHTTPHeaders({ 'accept-language': 'de-DE,de;q=0.9,en;q=0.5' });
    try {
      const page = await openSite();
      const popup = await openDialog(page);
      assert.equal(await popup.getAttribute('html', 'lang'), 'de');
      assert.equal(await popup.textContent('h1'), 'Anmelden bei Persona example site');
      await popup.getByLabel('E-Mail-Adresse').fill(email);
      await popup.getByRole('button', { name: 'Weiter', exact: true }).click();
      await popup.getByLabel('Passwort wählen').fill(PASSWORD);
      await popup.getByLabel('Passwort wiederholen').fill('etwas anderes');
      await popup.getByRole('button', { name: 'Konto erstellen', exact: true }).click();
      // The script's own messages are German too.
      await popup
        .getByRole('alert')
        .filter({ hasText: 'Die beiden Passwörter stimmen nicht überein.' })
        .waitFor(WAIT);
      await check(popup, 'dialog (de): new account', 'Konto erstellen');
      await popup.getByLabel('Passwort wiederholen').fill(PASSWORD);
      await popup.getByRole('button', { name: 'Konto erstellen', exact: true }).click();
      await popup
        .getByRole('status')
        .filter({ hasText: `Wir haben eine E-Mail an ${email} gesendet` })
        .waitFor(WAIT);
      await check(popup, 'dialog (de): waiting for the mail', 'E-Mail erneut senden');

      const link = await linkFor(email);
      const landing = await context.newPage();
      const closed = popup.waitForEvent('close', WAIT);
      await landing.goto(link);
      await landing.getByRole('heading', { name: 'E-Mail-Adresse bestätigen' }).waitFor(WAIT);
      await landing
        .getByRole('status')
        .filter({ hasText: `Ihre Adresse ${email} ist bestätigt` })
        .waitFor(WAIT);
      await check(landing, 'landing page (de): confirmed');
      await closed;
      await page.locator(`#main[data-user="${email}"]`).waitFor(WAIT);

      // The account page in German; its switch turns it into French and keeps the choice in the address.
      await landing.getByRole('link', { name: 'Ihr Persona-Konto verwalten' }).click();
      await landing.getByRole('heading', { name: 'Ihre E-Mail-Adressen' }).waitFor(WAIT);
      await check(landing, 'account (de): signed in');
      await landing.getByRole('link', { name: 'Français' }).click();
      await landing.getByRole('heading', { name: 'Vos adresses e-mail' }).waitFor(WAIT);
      assert.equal(new URL(landing.url()).searchParams.get('lang'), 'fr');
      await check(landing, 'account (fr): signed in');
      for (const p of [page, landing]) await p.close();
    } finally {
      await context.setExtraHTTPHeaders({});
    }
  });

  test('no page or screen logged a console error', () => {
    assert.deepEqual(consoleErrors, []);
    assert.ok(checked.length >= 15, `checked: ${checked.join(', ')}`);
  });
});
