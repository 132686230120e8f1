/**
 * When an email domain stops being a primary IdP (reference/persona.md §2.3): the dialog in Chromium
 * against the real stack, with two domains served by this test over http (shimmed primaries). Accounts
 * are made through the primary with auth_with_assertion (no password), then:
 * - switch.test answers `{"disabled": true}`: the address is `transition_no_password`, and the dialog asks
 *   for a Persona password, mails the link, and signs in once the link is opened;
 * - gone.test stops answering: its IdP was seen a moment ago, so the address is `offline`, and the dialog
 *   says so.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import {
  bundle,
  certifyPublicKey,
  createAssertion,
  generateKeypair,
  supportDocumentFor,
} from '../../src/browserid/index.ts';
import { databaseSettingsFrom, openReader } from '../../src/db/read.ts';
import { browser as wsapiBrowser } from '../helpers/browser.ts';
import { missing } from '../helpers/components.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp.ts';
import { freePort, startStack, type Stack } from '../helpers/stack.ts';
import { CHROMIUM, launchChromium, type LaunchedBrowser } from './chromium.ts';
import { startTestRp, type TestRp } from './test-rp.ts';

const skip = await missing(CHROMIUM);

const WAIT = { timeout: 20_000 };
const PASSWORD = 'a persona password';

/** An IdP's support document over http, switchable to `disabled`, never cached. */
interface SwitchableIdp {
  readonly domain: string;
  readonly origin: string;
  readonly key: ReturnType<typeof generateKeypair>;
  disabled: boolean;
  server: Server;
}

async function startIdp(domain: string): Promise<SwitchableIdp> {
  const port = await freePort();
  const key = generateKeypair('RS256');
  const idp: SwitchableIdp = {
    domain,
    origin: `http://127.0.0.1:${port}`,
    key,
    disabled: false,
    server: createServer((_req, res) => {
      const doc = idp.disabled
        ? { disabled: true }
        : supportDocumentFor(key.publicKey, { authentication: '/auth', provisioning: '/prov' });
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(doc));
    }),
  };
  await new Promise<void>((resolve) => idp.server.listen(port, '127.0.0.1', resolve));
  return idp;
}

describe('the dialog when a domain stops being a primary IdP', { skip }, () => {
  let smtp: SmtpSink;
  let switching: SwitchableIdp;
  let gone: SwitchableIdp;
  let stack: Stack;
  let rp: TestRp;
  let chromium: LaunchedBrowser;

  /** An account with no password, made by signing in through the domain's IdP. */
  async function accountThroughPrimary(idp: SwitchableIdp, email: string): Promise<void> {
    const b = wsapiBrowser(stack.base);
    const user = generateKeypair('RS256');
    const now = Date.now();
    const certificate = certifyPublicKey(
      {
        issuer: idp.domain,
        publicKey: user.publicKey,
        principal: { email },
        issuedAt: now,
        expiresAt: now + 3_600_000,
      },
      idp.key.secretKey,
    );
    const assertion = createAssertion({ audience: stack.base, expiresAt: now + 120_000 }, user.secretKey);
    const answer = await b.post('/wsapi/auth_with_assertion', {
      assertion: bundle([certificate], assertion),
      ephemeral: false,
    });
    assert.equal(answer.json().success, true, answer.text);
    // address_info records that the IdP was seen, through the dbwriter, after answering; the "offline"
    // rule needs the record.
    assert.equal((await b.get('/wsapi/address_info', { email })).json().type, 'primary');
    const reader = openReader(databaseSettingsFrom(stack.config));
    try {
      for (let i = 0; (await reader.getIDPLastSeen(idp.domain)) === undefined; i += 1) {
        assert.ok(i < 100, `${idp.domain} was never recorded as seen`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await reader.close();
    }
  }

  before(async () => {
    smtp = await startSmtpSink();
    switching = await startIdp('switch.test');
    gone = await startIdp('gone.test');
    stack = await startStack({
      env: {
        PERSONA_SMTP_URL: smtp.url,
        PERSONA_SHIMMED_PRIMARIES: JSON.stringify({
          [switching.domain]: switching.origin,
          [gone.domain]: gone.origin,
        }),
      },
    });
    rp = await startTestRp(stack.base);
    chromium = await launchChromium();
  });

  after(async () => {
    await chromium?.close();
    await rp?.close();
    await stack?.stop();
    for (const idp of [switching, gone]) await new Promise((resolve) => idp?.server.close(resolve));
    await smtp?.close();
  });

  async function dialogFor(email: string): Promise<{ page: Page; popup: Page }> {
    // Signed out of Persona: the dialog asks for the address.
    await chromium.context.clearCookies();
    const page = await chromium.context.newPage();
    await page.goto(`${rp.origin}/`);
    const [popup] = await Promise.all([chromium.context.waitForEvent('page'), page.click('#signin')]);
    await popup.getByLabel('Email address').waitFor(WAIT);
    await popup.getByLabel('Email address').fill(email);
    await popup.getByRole('button', { name: 'Next' }).click();
    return { page, popup };
  }

  test('a disabled primary: choose a Persona password, open the mailed link, signed in by Persona', async () => {
    const email = 'sam@switch.test';
    await accountThroughPrimary(switching, email);
    switching.disabled = true;
    const { page, popup } = await dialogFor(email);
    await popup
      .getByRole('status')
      .filter({
        hasText: `switch.test no longer signs you in itself. Choose a Persona password for ${email}.`,
      })
      .waitFor(WAIT);
    await popup.getByLabel('Choose a password').fill(PASSWORD);
    await popup.getByLabel('Type it again').fill(PASSWORD);
    await popup.getByRole('button', { name: 'Set password' }).click();
    await popup
      .getByRole('status')
      .filter({ hasText: `We sent an email to ${email}` })
      .waitFor(WAIT);

    const mail = await smtp.waitFor(email, 15_000);
    const link = String(mail.headers.get('x-browserid-verificationurl'));
    assert.match(link, /\/complete_transition\?token=/);
    const landing = await chromium.context.newPage();
    const closed = popup.waitForEvent('close', WAIT);
    await landing.goto(link);
    await closed;
    await page.locator('#result[data-status]').waitFor(WAIT);
    assert.equal(await page.getAttribute('#result', 'data-status'), 'okay');
    assert.equal(await page.textContent('#result'), email);
    // Persona certifies the address now, not the domain.
    assert.equal(rp.verdicts.at(-1)?.issuer, new URL(stack.base).hostname);
    const signIn = await wsapiBrowser(stack.base).post('/wsapi/authenticate_user', {
      email,
      pass: PASSWORD,
      ephemeral: false,
    });
    assert.equal(signIn.json().success, true);
    await landing.close();
    await page.close();
  });

  test('a primary that stops answering is offline: the dialog says so and signs nobody in', async () => {
    const email = 'kim@gone.test';
    await accountThroughPrimary(gone, email);
    const closed = new Promise((resolve) => gone.server.close(resolve));
    gone.server.closeAllConnections(); // the webhead's kept-alive connections too
    await closed;
    const { page, popup } = await dialogFor(email);
    await popup
      .getByRole('alert')
      .filter({
        hasText: `The email provider for gone.test is not answering right now, so ${email} cannot sign in.`,
      })
      .waitFor(WAIT);
    assert.equal(await popup.getByLabel('Password', { exact: true }).isVisible(), false);
    assert.equal(await page.getAttribute('#result', 'data-status'), null);
    await popup.close();
    await page.close();
  });
});
