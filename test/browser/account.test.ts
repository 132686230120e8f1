/**
 * The account page (/) in Chromium against the real stack, as one person's visit: sign in, see the
 * address, add a second one (its /confirm link followed in the same browser), remove one, change the
 * password, sign out and in again, cancel the account. What the person sees, and what the server then
 * holds (checked through the wsapi from another client).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ParsedMail } from 'mailparser';
import type { Locator, Page } from 'playwright-core';
import { request } from 'undici';
import { browser } from '../helpers/browser.ts';
import { missing } from '../helpers/components.ts';
import { PASSWORD, signUp } from '../helpers/flows.ts';
import { jwcrypto } from '../helpers/jwcrypto.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { CHROMIUM, launchChromium, waitInPage, type LaunchedBrowser } from './chromium.ts';

const skip = await missing(CHROMIUM);

const OWNER = 'carol@example.com';
const SECOND = 'carol.work@example.com';
const THIRD = 'carol.home@example.com';
const NEW_PASSWORD = 'carol changed it';
/** An account made through the example primary: no password until its first added address. */
const PRIMARY_USER = 'dora';
const PRIMARY_ADDRESS = `${PRIMARY_USER}@example.domain`;
const DORA_SECOND = 'dora@example.com';
const DORA_PASSWORD = 'dora chose this one';

describe('the account page', { skip }, () => {
  let smtp: SmtpSink;
  let stack: Stack;
  let chromium: LaunchedBrowser;
  let page: Page;

  before(async () => {
    smtp = await startSmtpSink();
    // The example primary vouches for @example.domain (the password-less account's test).
    stack = await startStack({ examples: true, env: { PERSONA_SMTP_URL: smtp.url } });
    await signUp(stack.base, smtp, OWNER);
    chromium = await launchChromium();
    page = await chromium.context.newPage();
  });

  after(async () => {
    await chromium?.close();
    await stack?.stop();
    await smtp?.close();
  });

  const status = () => page.getByRole('status');
  const waitForText = (region: Locator, text: string) =>
    region.filter({ hasText: text }).waitFor({ timeout: 10_000 });
  const alertSays = (text: string) => waitForText(page.getByRole('alert'), text);
  const statusSays = (text: string) => waitForText(status(), text);
  /** The element with the focus, once it has moved there (the page moves it after the view changes). */
  const focusIsOn = async (id: string) => {
    await waitInPage(
      page,
      `document.activeElement && document.activeElement.id === ${JSON.stringify(id)}`,
      2000,
    ).catch(() => undefined);
    assert.equal(await page.evaluate('document.activeElement && document.activeElement.id'), id);
  };
  /** The addresses as listed on the page. */
  const listed = async () =>
    (await page.locator('#emails li').allTextContents()).map((text) => text.replace(/\s*Remove$/, ''));

  async function signsIn(email: string, pass: string): Promise<boolean> {
    const answer = await browser(stack.base).post('/wsapi/authenticate_user', {
      email,
      pass,
      ephemeral: false,
    });
    assert.equal(answer.status, 200, answer.text);
    return answer.json().success === true;
  }

  async function addressState(email: string): Promise<unknown> {
    return (await browser(stack.base).get('/wsapi/address_info', { email })).json().state;
  }

  /** The /confirm link in an address-addition mail. */
  function confirmLink(mail: ParsedMail): string {
    const escaped = `${stack.base}/confirm?token=`.replace(/[.:/?]/g, '\\$&');
    const link = new RegExp(`${escaped}[A-Za-z0-9]{48}`).exec(mail.text ?? '');
    assert.ok(link, String(mail.text));
    return link[0];
  }

  async function signInOnPage(pass: string): Promise<void> {
    const form = page.locator('#sign-in');
    await form.getByLabel('Email address').fill(OWNER);
    await form.getByLabel('Password').fill(pass);
    await form.getByRole('button', { name: 'Sign in' }).click();
  }

  test('signed out, the page offers a sign-in form; a wrong password is refused', async () => {
    await page.goto(`${stack.base}/`);
    const heading = page.getByRole('heading', { name: 'Sign in to manage your account' });
    await heading.waitFor({ timeout: 10_000 });
    await focusIsOn('sign-in-email');
    await signInOnPage('not the password');
    await alertSays('That email address and password do not match.');
    assert.equal(await page.getByRole('heading', { name: 'Your email addresses' }).isVisible(), false);
  });

  test('signing in shows the account and its address', async () => {
    await signInOnPage(PASSWORD);
    await page.getByRole('heading', { name: 'Your email addresses' }).waitFor({ timeout: 10_000 });
    await focusIsOn('emails-heading');
    assert.deepEqual(await listed(), [OWNER]);
    assert.equal(await page.getByRole('button', { name: `Remove ${OWNER}` }).isVisible(), true);
    // Reloaded, the page remembers the session.
    await page.reload();
    await page.getByRole('heading', { name: 'Your email addresses' }).waitFor({ timeout: 10_000 });
    assert.deepEqual(await listed(), [OWNER]);
  });

  test('adding an address: the mail, its link in this browser, then the list shows both', async () => {
    const form = page.locator('#add');
    // An account with a password is not asked for one.
    assert.equal(await form.getByLabel('New password', { exact: true }).isVisible(), false);
    await form.getByLabel('Email address').fill(SECOND);
    await form.getByRole('button', { name: 'Add address' }).click();
    await statusSays(`We sent an email to ${SECOND}.`);
    const mail = await smtp.waitFor(SECOND);
    const link = confirmLink(mail);

    // Followed in the same browser, signed in as the account: no password asked.
    const tab = await chromium.context.newPage();
    try {
      await tab.goto(link);
      await tab
        .getByRole('status')
        .filter({ hasText: `Your address ${SECOND} is confirmed.` })
        .waitFor({ timeout: 10_000 });
    } finally {
      await tab.close();
    }
    // The page polls every 3 s.
    await statusSays(`${SECOND} is added to your account.`);
    assert.deepEqual((await listed()).sort(), [OWNER, SECOND].sort());
    assert.equal(await addressState(SECOND), 'known');
  });

  test('a second mail to one address within the minute is refused with a clear message', async () => {
    const form = page.locator('#add');
    const add = form.getByRole('button', { name: 'Add address' });
    await form.getByLabel('Email address').fill(THIRD);
    await add.click();
    await statusSays(`We sent an email to ${THIRD}.`);
    await form.getByLabel('Email address').fill(THIRD);
    await add.click();
    await alertSays('An email was sent to that address less than a minute ago.');
    assert.equal((await smtp.waitFor(THIRD)).subject?.includes('Confirm'), true);
    assert.equal(smtp.messages.filter((m) => m.text?.includes(THIRD)).length, 1);
  });

  test('removing an address asks first, then removes it', async () => {
    await page.getByRole('button', { name: `Remove ${SECOND}` }).click();
    await statusSays(`Remove ${SECOND} from your account? Press the button again to confirm.`);
    const sure = page.getByRole('button', { name: `Yes, remove ${SECOND}` });
    assert.equal(await sure.isVisible(), true);
    assert.equal(await addressState(SECOND), 'known', 'not removed on the first press');
    assert.equal(
      await page.evaluate('document.activeElement && document.activeElement.textContent'),
      `Yes, remove ${SECOND}`,
    );
    await sure.click();
    await statusSays(`${SECOND} is removed from your account.`);
    assert.deepEqual(await listed(), [OWNER]);
    await focusIsOn('emails-heading');
    assert.equal(await addressState(SECOND), 'unknown');
  });

  test('changing the password: the current one must be right; then the old one is refused', async () => {
    const form = page.locator('#password');
    const submit = form.getByRole('button', { name: 'Change password' });
    await form.getByLabel('Current password').fill('not the password');
    await form.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await form.getByLabel('Type the new password again').fill(NEW_PASSWORD);
    await submit.click();
    await alertSays('Your current password is not right.');
    assert.equal(await signsIn(OWNER, PASSWORD), true, 'unchanged');

    await form.getByLabel('Current password').fill(PASSWORD);
    await form.getByLabel('Type the new password again').fill('something else');
    await submit.click();
    await alertSays('The two passwords are not the same.');

    await form.getByLabel('Type the new password again').fill(NEW_PASSWORD);
    await submit.click();
    await statusSays('Your password is changed.');
    assert.equal(await form.getByLabel('Current password').inputValue(), '');
    assert.equal(await signsIn(OWNER, PASSWORD), false);
    assert.equal(await signsIn(OWNER, NEW_PASSWORD), true);
    // This browser stays signed in.
    await page.reload();
    await page.getByRole('heading', { name: 'Your email addresses' }).waitFor({ timeout: 10_000 });
  });

  test('signing out returns to the sign-in form; signing in again works with the new password', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await statusSays('You are signed out.');
    await focusIsOn('sign-in-heading');
    const context = (await page.evaluate(async () => (await fetch('/wsapi/session_context')).json())) as {
      authenticated: unknown;
    };
    assert.equal(context.authenticated, false);

    await signInOnPage(NEW_PASSWORD);
    await page.getByRole('heading', { name: 'Your email addresses' }).waitFor({ timeout: 10_000 });
    assert.deepEqual(await listed(), [OWNER]);
  });

  test('cancelling the account needs the box ticked; then the address is unknown', async () => {
    const form = page.locator('#cancel');
    const cancel = form.getByRole('button', { name: 'Cancel my account' });
    await cancel.click();
    await alertSays('Tick the box first to confirm.');
    await focusIsOn('cancel-sure');
    assert.equal(await addressState(OWNER), 'known');

    await form.getByLabel('I understand that this deletes my Persona account').check();
    await cancel.click();
    await statusSays('Your account is cancelled.');
    assert.equal(
      await page.getByRole('heading', { name: 'Sign in to manage your account' }).isVisible(),
      true,
    );
    assert.equal(await addressState(OWNER), 'unknown');
    assert.equal(await signsIn(OWNER, NEW_PASSWORD), false);
  });

  /** An assertion for `user@example.domain`, audience Persona, certified by the example primary. */
  async function primaryAssertion(user: string): Promise<string> {
    const primary = stack.examplePrimary ?? '';
    const json = { 'content-type': 'application/json' };
    const login = await request(`${primary}/api/login`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ user }),
    });
    await login.body.dump();
    const cookie = String([login.headers['set-cookie']].flat()[0]).split(';')[0] ?? '';
    const keys = await jwcrypto.generateKeypair('DS128');
    const certified = await request(`${primary}/api/cert_key`, {
      method: 'POST',
      headers: { ...json, cookie },
      body: JSON.stringify({ pubkey: keys.publicKey.serialize(), duration: 600 }),
    });
    const { cert } = (await certified.body.json()) as { cert: string };
    const assertion = await jwcrypto.assert(
      { audience: stack.base, expiresAt: Date.now() + 120_000 },
      keys.secretKey,
    );
    return jwcrypto.bundle([cert], assertion);
  }

  test('an account made through a primary chooses a password with its first added address', async () => {
    // Signed in through the primary in this browser, as the dialog would do it.
    const assertion = await primaryAssertion(PRIMARY_USER);
    const signedIn = await page.evaluate(async (backed) => {
      const { csrf_token: csrf } = (await (await fetch('/wsapi/session_context')).json()) as {
        csrf_token: string;
      };
      const res = await fetch('/wsapi/auth_with_assertion', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ assertion: backed, ephemeral: false, csrf }),
      });
      return res.json();
    }, assertion);
    assert.equal((signedIn as { success: unknown }).success, true, JSON.stringify(signedIn));
    await page.reload();
    await page.getByRole('heading', { name: 'Your email addresses' }).waitFor({ timeout: 10_000 });
    assert.deepEqual(await listed(), [PRIMARY_ADDRESS]);
    // No password: nothing to change, and the addition asks for one.
    assert.equal(await page.getByRole('heading', { name: 'Change your password' }).isVisible(), false);
    const form = page.locator('#add');
    const add = form.getByRole('button', { name: 'Add address' });
    await form.getByLabel('Email address').fill(DORA_SECOND);
    await add.click();
    await alertSays('The password must be at least 8 characters long.');
    await form.getByLabel('New password', { exact: true }).fill(DORA_PASSWORD);
    await form.getByLabel('Type the new password again').fill(DORA_PASSWORD);
    await add.click();
    await statusSays(`We sent an email to ${DORA_SECOND}.`);
    const mail = await smtp.waitFor(DORA_SECOND);
    const link = confirmLink(mail);

    // Signed in only through the primary, this browser proves the password just chosen.
    const tab = await chromium.context.newPage();
    try {
      await tab.goto(link);
      const password = tab.getByLabel('Your Persona password');
      await password.waitFor({ timeout: 10_000 });
      await password.fill(DORA_PASSWORD);
      await tab.getByRole('button', { name: 'Confirm' }).click();
      await tab
        .getByRole('status')
        .filter({ hasText: `Your address ${DORA_SECOND} is confirmed.` })
        .waitFor({ timeout: 10_000 });
    } finally {
      await tab.close();
    }
    await statusSays(`${DORA_SECOND} is added to your account.`);
    assert.deepEqual((await listed()).sort(), [DORA_SECOND, PRIMARY_ADDRESS].sort());
    assert.equal(await page.getByRole('heading', { name: 'Change your password' }).isVisible(), true);
    assert.equal(await signsIn(DORA_SECOND, DORA_PASSWORD), true);
  });
});
