/**
 * The bridge in Chromium (docs/bridge.md): a site asks for a sign-in, the dialog is given
 * someone@mail.localhost, sends the window through the bridge to the provider's login page (oidc-provider,
 * started by the test), comes back and hands the site an assertion backed by the bridge's certificate; the
 * site's /verify answers okay with the bridge as issuer. Then the kill switch: the next sign-in of that
 * domain is the fallback IdP's (a password). With PERSONA_SCREENSHOTS_DIR set it keeps the popup's
 * screens (480×640) for docs/screenshots.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { browser as wsapiBrowser } from '../helpers/browser.ts';
import { missing } from '../helpers/components.ts';
import { CHROMIUM, launchChromium, type LaunchedBrowser } from '../browser/chromium.ts';
import { startTestRp, type TestRp } from '../browser/test-rp.ts';
import { BRIDGE_ISSUER, DOMAIN, DOWN, startBed, type Bed } from './harness.ts';

const skip = await missing(CHROMIUM);
const shots = process.env.PERSONA_SCREENSHOTS_DIR;

describe('the dialog signs in through the bridge', { skip }, () => {
  let bed: Bed;
  let rp: TestRp;
  let chromium: LaunchedBrowser;

  before(async () => {
    bed = await startBed();
    rp = await startTestRp(bed.stack.base);
    chromium = await launchChromium();
  });
  after(async () => {
    await chromium?.close();
    await rp?.close();
    await bed?.close();
  });

  async function shot(page: Page, name: string): Promise<void> {
    if (shots === undefined) return;
    await page.setViewportSize({ width: 480, height: 640 });
    await page.screenshot({ path: join(shots, `${name}.png`) });
  }

  async function openDialog(): Promise<{ page: Page; popup: Page }> {
    const page = await chromium.context.newPage();
    await page.goto(`${rp.origin}/`);
    const [popup] = await Promise.all([chromium.context.waitForEvent('page'), page.click('#signin')]);
    await popup.setViewportSize({ width: 480, height: 640 });
    await popup.waitForSelector('#screen-email:not([hidden]), #screen-pick:not([hidden])', {
      timeout: 15_000,
    });
    if (await popup.isVisible('#screen-pick')) await popup.click('#use-another');
    return { page, popup };
  }

  test('someone@mail.localhost through the provider login page: the site verifies, the bridge is the issuer', async () => {
    const email = `someone@${DOMAIN}`;
    const { page, popup } = await openDialog();
    try {
      await popup.getByLabel('Email address').fill(email);
      await popup.getByRole('button', { name: 'Next' }).click();
      const go = popup.getByRole('button', { name: `Continue to ${DOMAIN}` });
      await go.waitFor({ state: 'visible', timeout: 30_000 });
      await shot(popup, 'bridge-dialog');
      await go.click();
      // Through the bridge to the provider's own login page, the address handed over as login_hint.
      await popup.waitForURL(`${bed.provider.issuer}/interaction/**`, { timeout: 30_000 });
      const login = popup.locator('input[name="login"]');
      assert.equal(await login.inputValue(), email);
      await popup.locator('input[name="password"]').fill('anything');
      await shot(popup, 'bridge-provider-login');
      const closed = popup.waitForEvent('close', { timeout: 60_000 });
      await popup.getByRole('button', { name: 'Sign in', exact: true }).click();
      await closed;
      await page.waitForSelector('#result[data-status]', { timeout: 30_000 });
      assert.equal(
        await page.getAttribute('#result', 'data-status'),
        'okay',
        (await page.textContent('#result')) ?? '',
      );
      assert.equal(await page.textContent('#result'), email);
      assert.equal(await page.getAttribute('#result', 'data-issuer'), BRIDGE_ISSUER);
      const cert = (rp.assertions.at(-1) ?? '').split('~')[0] ?? '';
      const payload = JSON.parse(Buffer.from(cert.split('.')[1] ?? '', 'base64url').toString());
      assert.equal(payload.iss, BRIDGE_ISSUER);
      assert.deepEqual(payload.principal, { email });
      assert.ok(payload.exp - payload.iat <= 5 * 60_000);
    } finally {
      await page.close();
    }
  });

  test('an alias at the provider: the code page, the mailed code, then signed in as the typed address', async () => {
    const typed = `kim@${DOMAIN}`;
    const { page, popup } = await openDialog();
    try {
      await popup.getByLabel('Email address').fill(typed);
      await popup.getByRole('button', { name: 'Next' }).click();
      await popup.getByRole('button', { name: `Continue to ${DOMAIN}` }).click({ timeout: 30_000 });
      await popup.waitForURL(`${bed.provider.issuer}/interaction/**`, { timeout: 30_000 });
      await popup.locator('input[name="login"]').fill(`kim.lee@${DOMAIN}`);
      await popup.locator('input[name="password"]').fill('anything');
      await popup.getByRole('button', { name: 'Sign in', exact: true }).click();
      await popup.getByRole('heading', { name: 'Check your mail' }).waitFor({ timeout: 30_000 });
      const code = /Your code: (\d{6})/.exec(String((await bed.smtp.waitFor(typed)).text))?.[1] ?? '';
      await popup.getByLabel('Code from the mail').fill(code);
      await shot(popup, 'bridge-alias-code');
      const closed = popup.waitForEvent('close', { timeout: 60_000 });
      await popup.getByRole('button', { name: 'Continue' }).click();
      await closed;
      await page.waitForSelector('#result[data-status]', { timeout: 30_000 });
      assert.equal(await page.textContent('#result'), typed);
      assert.equal(await page.getAttribute('#result', 'data-issuer'), BRIDGE_ISSUER);
    } finally {
      await page.close();
    }
  });

  test('the provider is down: the bridge says so at once, and Back to Persona returns to the dialog', async () => {
    const { page, popup } = await openDialog();
    try {
      await popup.getByLabel('Email address').fill(`ann@${DOWN}`);
      await popup.getByRole('button', { name: 'Next' }).click();
      await popup.getByRole('button', { name: `Continue to ${DOWN}` }).click({ timeout: 30_000 });
      await popup.getByRole('heading', { name: `${DOWN} is not answering` }).waitFor({ timeout: 30_000 });
      await shot(popup, 'bridge-provider-down');
      await popup.getByRole('button', { name: 'Back to Persona' }).click();
      await popup
        .getByRole('alert')
        .filter({ hasText: `Signing in with ${DOWN} was canceled.` })
        .waitFor({ timeout: 30_000 });
      assert.ok(popup.url().startsWith(bed.stack.base), popup.url());
      await popup.close();
    } finally {
      await page.close();
    }
  });

  test('the kill switch: the next sign-in of the domain is the fallback IdP’s', async () => {
    writeFileSync(bed.killSwitchFile, `${DOMAIN}\n`);
    try {
      // Persona rereads the bridge's support document within its 10 s cache.
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const info = await wsapiBrowser(bed.stack.base).get('/wsapi/address_info', {
          email: `lou@${DOMAIN}`,
        });
        if (info.json().type === 'secondary') break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const { page, popup } = await openDialog();
      try {
        await popup.getByLabel('Email address').fill(`lou@${DOMAIN}`);
        await popup.getByRole('button', { name: 'Next' }).click();
        // A new address at the fallback IdP: choose a password; no bridge, no provider.
        await popup.waitForSelector('#screen-new-password:not([hidden])', { timeout: 30_000 });
        assert.ok(!popup.url().startsWith(bed.bridge));
        await popup.close();
      } finally {
        await page.close();
      }
    } finally {
      rmSync(bed.killSwitchFile, { force: true });
    }
  });
});
