/**
 * The dialog's first real journey, end to end in Chromium against the real stack: an account made with
 * signUp, a relying party on another site that loads include.js and, on onlogin, has its own server check
 * the assertion at the stack's /verify with its own origin as the audience. The person clicks "Sign in",
 * types the address and the password in the popup, and the site shows who signed in.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { missing } from '../helpers/components.ts';
import { PASSWORD, signUp, verifyWithMozilla } from '../helpers/flows.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { startTestRp, type TestRp } from './test-rp.ts';
import { BLOCK_THIRD_PARTY_COOKIES, CHROMIUM, launchChromium, type LaunchedBrowser } from './chromium.ts';

const skip = await missing(CHROMIUM);

const EMAIL = 'alice@example.com';

describe('the dialog signs in an account with a password', { skip }, () => {
  let smtp: SmtpSink;
  let stack: Stack;
  let rp: TestRp;
  let browser: LaunchedBrowser;

  before(async () => {
    smtp = await startSmtpSink();
    stack = await startStack({ env: { PERSONA_SMTP_URL: smtp.url } });
    await signUp(stack.base, smtp, EMAIL);

    rp = await startTestRp(stack.base);
    // As a browser that refuses third-party cookies: the popup flow needs none (our cookie is first-party).
    browser = await launchChromium([BLOCK_THIRD_PARTY_COOKIES]);
  });

  after(async () => {
    await browser?.close();
    await rp?.close();
    await stack?.stop();
    await smtp?.close();
  });

  async function openDialog(): Promise<{ page: Page; popup: Page }> {
    // Signed out of Persona each time: otherwise the dialog offers the address signed in before.
    await browser.context.clearCookies();
    const page = await browser.context.newPage();
    await page.goto(`${rp.origin}/`);
    const [popup] = await Promise.all([browser.context.waitForEvent('page'), page.click('#signin')]);
    await popup.waitForSelector('#email', { state: 'visible', timeout: 10_000 });
    return { page, popup };
  }

  async function enterEmail(popup: Page, email: string): Promise<void> {
    // The address field has the focus as soon as the request arrives.
    assert.equal(await popup.evaluate('document.activeElement && document.activeElement.id'), 'email');
    await popup.getByLabel('Email address').fill(email);
    await popup.getByRole('button', { name: 'Next' }).click();
  }

  test('email, Next, password, Sign in: the site verifies the assertion and shows the address', async () => {
    const { page, popup } = await openDialog();
    try {
      assert.equal(await popup.textContent('h1'), 'Sign in to Example RP');
      await enterEmail(popup, EMAIL);
      const password = popup.getByLabel('Password', { exact: true });
      await password.waitFor({ state: 'visible', timeout: 10_000 });
      await password.fill(PASSWORD);
      const closed = popup.waitForEvent('close');
      await popup.getByRole('button', { name: 'Sign in' }).click();
      await closed;
      await page.waitForSelector('#result[data-status]', { timeout: 15_000 });
      assert.equal(
        await page.getAttribute('#result', 'data-status'),
        'okay',
        (await page.textContent('#result')) ?? '',
      );
      assert.equal(await page.textContent('#result'), EMAIL);
      const verdict = rp.verdicts.at(-1);
      assert.equal(verdict?.email, EMAIL);
      assert.equal(verdict?.audience, rp.origin);
      assert.equal(verdict?.issuer, new URL(stack.base).hostname);
      // Mozilla's own verifier accepts the browser's RS256 key, certificate and assertion too.
      const backed = rp.assertions.at(-1) ?? '';
      assert.equal(backed.split('~').length, 2);
      const header = JSON.parse(
        Buffer.from(backed.split('~')[1]?.split('.')[0] ?? '', 'base64url').toString(),
      );
      assert.deepEqual(header, { alg: 'RS256' });
      const mozilla = await verifyWithMozilla(stack.base, backed, new URL(stack.base).hostname, rp.origin);
      assert.equal(mozilla.email, EMAIL);
    } finally {
      await page.close();
    }
  });

  test('a wrong password is announced in the popup, which stays open', async () => {
    const { page, popup } = await openDialog();
    try {
      await enterEmail(popup, EMAIL);
      await popup.getByLabel('Password', { exact: true }).fill('not the password');
      await popup.getByRole('button', { name: 'Sign in' }).click();
      const alert = popup.getByRole('alert');
      await alert.filter({ hasText: 'That password is not right' }).waitFor({ timeout: 10_000 });
      assert.equal(popup.isClosed(), false);
      assert.equal(await page.getAttribute('#result', 'data-status'), null);
      await popup.close();
    } finally {
      await page.close();
    }
  });

  test('an unknown address is offered a new account; a short password is refused before any call', async () => {
    const { page, popup } = await openDialog();
    try {
      await enterEmail(popup, 'nobody@example.com');
      await popup
        .getByRole('status')
        .filter({ hasText: 'Create a Persona account for nobody@example.com' })
        .waitFor({ timeout: 10_000 });
      assert.equal(await popup.getByLabel('Password', { exact: true }).isVisible(), false);
      await popup.getByLabel('Choose a password').fill('short');
      await popup.getByLabel('Type it again').fill('short');
      await popup.getByRole('button', { name: 'Create account' }).click();
      await popup
        .getByRole('alert')
        .filter({ hasText: 'at least 8 characters' })
        .waitFor({ timeout: 10_000 });
      assert.equal(smtp.messages.filter((m) => JSON.stringify(m.to).includes('nobody@')).length, 0);
      await popup.close();
    } finally {
      await page.close();
    }
  });

  test("the site's logo, colour and terms are shown; malformed ones are left out", async () => {
    await browser.context.clearCookies();
    const page = await browser.context.newPage();
    // Port 1 on loopback: the logo's URL is well formed, and loading it goes nowhere.
    const options = {
      siteLogo: 'https://127.0.0.1:1/logo.png',
      backgroundColor: '123456',
      termsOfService: 'https://127.0.0.1:1/tos',
      privacyPolicy: 'https://127.0.0.1:1/privacy',
    };
    await page.goto(`${rp.origin}/#${encodeURIComponent(JSON.stringify(options))}`);
    const [popup] = await Promise.all([browser.context.waitForEvent('page'), page.click('#signin')]);
    try {
      await popup.locator('#terms:not([hidden])').waitFor({ timeout: 10_000 });
      assert.equal(await popup.getAttribute('#site-logo', 'src'), options.siteLogo);
      assert.equal(await popup.getAttribute('#site-logo', 'alt'), 'Logo of Example RP');
      assert.equal(
        await popup.textContent('#terms'),
        'By continuing you accept the terms of service and the privacy policy of Example RP.',
      );
      assert.equal(
        await popup.getByRole('link', { name: 'terms of service' }).getAttribute('href'),
        options.termsOfService,
      );
      assert.equal(
        await popup.getByRole('link', { name: 'privacy policy' }).getAttribute('href'),
        options.privacyPolicy,
      );
      assert.equal(
        await popup.evaluate('getComputedStyle(document.getElementById("site")).backgroundColor'),
        'rgb(18, 52, 86)',
      );
      await popup.close();

      // An http logo, a colour that is not one, and a javascript: privacy policy: none of them shown.
      const bad = {
        siteLogo: 'http://127.0.0.1:1/logo.png',
        backgroundColor: 'red;x',
        termsOfService: options.termsOfService,
        privacyPolicy: 'javascript:alert(1)',
      };
      // A new page: only the fragment differs, which a goto would not reload.
      const other = await browser.context.newPage();
      await other.goto(`${rp.origin}/#${encodeURIComponent(JSON.stringify(bad))}`);
      const [again] = await Promise.all([browser.context.waitForEvent('page'), other.click('#signin')]);
      await again.getByLabel('Email address').waitFor({ timeout: 10_000 });
      assert.equal(await again.isVisible('#site-logo'), false);
      assert.equal(await again.isVisible('#terms'), false);
      assert.equal(
        await again.evaluate('getComputedStyle(document.getElementById("site")).backgroundColor'),
        // Our own surface (light scheme), not the site's.
        'rgb(255, 255, 255)',
      );
      await again.close();
      await other.close();
    } finally {
      await page.close();
    }
  });
});
