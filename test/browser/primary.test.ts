/**
 * The primary-IdP path of the dialog, end to end in Chromium against the real stack with the example
 * primary (example.domain, shimmed to its local origin): the relying party on another site asks for a
 * sign-in, the dialog provisions through the IdP's hidden provisioning page, sends the window to the IdP's
 * authentication page when the person is not signed in there, comes back, and hands the site an assertion
 * backed by the IdP's certificate, which the stack's /verify accepts with issuer example.domain.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { missing } from '../helpers/components.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { startTestRp, type TestRp } from './test-rp.ts';
import { CHROMIUM, launchChromium, waitInPage, type LaunchedBrowser } from './chromium.ts';

const skip = await missing(CHROMIUM);

const DOMAIN = 'example.domain';
const ALICE = `alice@${DOMAIN}`;

describe('the dialog signs in through a primary IdP', { skip }, () => {
  let stack: Stack;
  let idp: string;
  let rp: TestRp;
  let browser: LaunchedBrowser;

  before(async () => {
    stack = await startStack({ examples: true });
    idp = stack.examplePrimary ?? '';
    assert.notEqual(idp, '');
    rp = await startTestRp(stack.base);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await rp?.close();
    await stack?.stop();
  });

  /** Every URL the popup's own document visits, in order. */
  function visits(popup: Page): string[] {
    const seen = [popup.url()];
    popup.on('framenavigated', (frame) => {
      if (frame === popup.mainFrame()) seen.push(frame.url());
    });
    return seen;
  }

  async function openDialog(): Promise<{ page: Page; popup: Page; seen: string[] }> {
    const page = await browser.context.newPage();
    await page.goto(`${rp.origin}/`);
    const [popup] = await Promise.all([browser.context.waitForEvent('page'), page.click('#signin')]);
    const seen = visits(popup);
    await popup.waitForSelector('#screen-email:not([hidden]), #screen-pick:not([hidden])', {
      timeout: 10_000,
    });
    return { page, popup, seen };
  }

  async function enterEmail(popup: Page, email: string): Promise<void> {
    if (await popup.isVisible('#screen-pick')) await popup.click('#use-another');
    await popup.getByLabel('Email address').fill(email);
    await popup.getByRole('button', { name: 'Next' }).click();
  }

  /** The primary screen: what the person is told, and the button that goes to the IdP. */
  async function expectPrimaryScreen(popup: Page, email: string): Promise<void> {
    const go = popup.getByRole('button', { name: `Continue to ${DOMAIN}` });
    await go.waitFor({ state: 'visible', timeout: 20_000 });
    assert.equal(
      await popup.textContent('#status'),
      `Sign in with ${DOMAIN} to use ${email}. You will come back here afterwards.`,
    );
  }

  async function expectSignedIn(page: Page, email: string): Promise<void> {
    await page.waitForSelector('#result[data-status]', { timeout: 20_000 });
    assert.equal(
      await page.getAttribute('#result', 'data-status'),
      'okay',
      (await page.textContent('#result')) ?? '',
    );
    assert.equal(await page.textContent('#result'), email);
    assert.equal(await page.getAttribute('#result', 'data-issuer'), DOMAIN);
  }

  test('Cancel on the IdP page brings the dialog back with the canceled message', async () => {
    const { page, popup } = await openDialog();
    try {
      await enterEmail(popup, `bob@${DOMAIN}`);
      await expectPrimaryScreen(popup, `bob@${DOMAIN}`);
      await popup.getByRole('button', { name: `Continue to ${DOMAIN}` }).click();
      await popup.waitForURL(`${idp}/authenticate?**`, { timeout: 10_000 });
      await popup.getByRole('button', { name: 'Cancel' }).click();
      await popup.waitForURL(`${stack.base}/sign_in?AUTH_RETURN_CANCEL`, { timeout: 10_000 });
      await popup
        .getByRole('alert')
        .filter({ hasText: `Signing in with ${DOMAIN} was canceled.` })
        .waitFor({ timeout: 10_000 });
      assert.equal(await page.getAttribute('#result', 'data-status'), null);
      await popup.close();
    } finally {
      await page.close();
    }
  });

  test('not signed in at the IdP: its page, then back, provisioned, and the site verifies', async () => {
    const { page, popup, seen } = await openDialog();
    try {
      await enterEmail(popup, ALICE);
      await expectPrimaryScreen(popup, ALICE);
      await popup.getByRole('button', { name: `Continue to ${DOMAIN}` }).click();
      await popup.waitForURL(`${idp}/authenticate?**`, { timeout: 10_000 });
      // The address reached the IdP's page (query parameter → beginAuthentication).
      assert.equal(new URL(popup.url()).searchParams.get('email'), ALICE);
      const name = popup.getByLabel(`Your name at ${DOMAIN}`);
      await waitInPage(popup, "document.getElementById('name').value !== ''");
      assert.equal(await name.inputValue(), 'alice');
      const closed = popup.waitForEvent('close', { timeout: 30_000 });
      await popup.getByRole('button', { name: 'Sign in' }).click();
      await closed;
      assert.ok(
        seen.some((url) => url === `${stack.base}/sign_in?AUTH_RETURN`),
        `the window came back to the dialog: ${seen.join(' → ')}`,
      );
      await expectSignedIn(page, ALICE);
      // The IdP's certificate, not Persona's, backs the assertion.
      const cert = (rp.assertions.at(-1) ?? '').split('~')[0] ?? '';
      const payload = JSON.parse(Buffer.from(cert.split('.')[1] ?? '', 'base64url').toString());
      assert.equal(payload.iss, DOMAIN);
      assert.deepEqual(payload.principal, { email: ALICE });
      // 6 h asked for (not ephemeral).
      assert.equal(payload.exp - payload.iat, 6 * 60 * 60 * 1000);
    } finally {
      await page.close();
    }
  });

  test('signed in at the IdP already: straight through, without its page', async () => {
    const { page, popup, seen } = await openDialog();
    try {
      const closed = popup.waitForEvent('close', { timeout: 30_000 });
      if (await popup.isVisible('#screen-pick')) {
        // Persona remembers the session from the last test: the address is offered.
        await popup.getByLabel(ALICE).check();
        await popup.locator('#pick-submit').click();
      } else {
        await enterEmail(popup, ALICE);
      }
      await closed;
      assert.ok(
        seen.every((url) => !url.startsWith(idp)),
        `the window stayed with the dialog: ${seen.join(' → ')}`,
      );
      await expectSignedIn(page, ALICE);
    } finally {
      await page.close();
    }
  });

  test('signed in at the IdP, typed into a fresh Persona session: no IdP page either', async () => {
    // Only Persona's cookies go: the IdP's session stays (both live on 127.0.0.1, cookies ignore ports).
    const cookies = await browser.context.cookies(stack.base);
    for (const cookie of cookies)
      if (cookie.name !== 'example_primary_session')
        await browser.context.clearCookies({ name: cookie.name, domain: cookie.domain });
    const { page, popup, seen } = await openDialog();
    try {
      await enterEmail(popup, ALICE);
      await popup.waitForEvent('close', { timeout: 30_000 });
      assert.ok(
        seen.every((url) => !url.startsWith(idp)),
        seen.join(' → '),
      );
      await expectSignedIn(page, ALICE);
    } finally {
      await page.close();
    }
  });
});
