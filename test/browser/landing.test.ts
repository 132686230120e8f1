/**
 * The email landing pages in Chromium against the real stack: the mails' links, followed in a browser that
 * did not ask (so the password is proved) and in the one that did (so nothing is asked). What the person
 * sees (the role=status and role=alert regions) and what the server then holds (checked through the wsapi).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { ParsedMail } from 'mailparser';
import { browser } from '../helpers/browser.ts';
import { missing } from '../helpers/components.ts';
import { PASSWORD, RP, signUp } from '../helpers/flows.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { CHROMIUM, launchChromium, type LaunchedBrowser } from './chromium.ts';

const skip = await missing(CHROMIUM);

const NEW_PASSWORD = 'a brand new password';

describe('the email landing pages', { skip }, () => {
  let smtp: SmtpSink;
  let stack: Stack;
  let chromium: LaunchedBrowser;
  let page: Page;

  before(async () => {
    smtp = await startSmtpSink();
    stack = await startStack({ env: { PERSONA_SMTP_URL: smtp.url } });
    chromium = await launchChromium();
  });

  after(async () => {
    await chromium?.close();
    await stack?.stop();
    await smtp?.close();
  });

  // A browser that never saw the stack: no session, so every link must be proved with a password.
  beforeEach(async () => {
    await page?.close();
    await chromium.context.clearCookies();
    page = await chromium.context.newPage();
  });

  /** The link of `path` in the mail, as the person would click it. */
  function linkIn(mail: ParsedMail, path: string): string {
    const escaped = `${stack.base}${path}`.replace(/[.:/?]/g, '\\$&');
    const match = new RegExp(`${escaped}\\?token=[A-Za-z0-9]{48}`).exec(mail.text ?? '');
    assert.ok(match, `no ${path} link in: ${String(mail.text).slice(0, 300)}`);
    return match[0];
  }

  const status = () => page.getByRole('status');
  const alert = () => page.getByRole('alert');
  const waitForText = (region: () => ReturnType<Page['getByRole']>, text: string) =>
    region().filter({ hasText: text }).waitFor({ timeout: 10_000 });

  async function signsIn(email: string, pass: string): Promise<boolean> {
    const answer = await browser(stack.base).post('/wsapi/authenticate_user', {
      email,
      pass,
      ephemeral: false,
    });
    assert.equal(answer.status, 200, answer.text);
    return answer.json().success === true;
  }

  test('a new account, verified in another browser: the sign-up password, wrong then right', async () => {
    const email = 'newcomer@example.com';
    const staging = browser(stack.base);
    const staged = await staging.post('/wsapi/stage_user', { email, pass: PASSWORD, site: RP });
    assert.deepEqual(staged.json(), { success: true });
    await page.goto(linkIn(await smtp.waitFor(email), '/verify_email_address'));

    const password = page.getByLabel('The password you chose when you signed up');
    await password.waitFor({ timeout: 10_000 });
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Confirm your email address');
    assert.equal(await status().textContent(), `Enter your password to confirm ${email}.`);
    assert.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'password');

    await password.fill('not the password');
    await page.getByRole('button', { name: 'Confirm' }).click();
    await waitForText(alert, 'That password is not right');
    assert.equal(await signsIn(email, PASSWORD), false, 'no account yet');

    await password.fill(PASSWORD);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await waitForText(status, `Your address ${email} is confirmed. You can close this tab`);
    assert.equal(await page.locator('#error').textContent(), '');
    assert.equal(await page.getByRole('button', { name: 'Confirm' }).isVisible(), false);
    assert.equal(await signsIn(email, PASSWORD), true);
    // The staging browser (the dialog) is told to sign in: it did not follow the link itself.
    const polled = await staging.get('/wsapi/user_creation_status', { email });
    assert.equal(polled.json().status, 'mustAuth');

    // The same link again: used.
    await page.reload();
    await waitForText(alert, 'This link was already used or has expired');
    assert.equal(await page.getByLabel('The password you chose when you signed up').isVisible(), false);
  });

  test('in the browser that signed up, the link completes at once', async () => {
    const email = 'samebrowser@example.com';
    // Sign up from a page of ours in this browser, as the dialog would.
    await page.goto(`${stack.base}/`);
    const staged = await page.evaluate(
      async ({ email, pass, site }) => {
        const { csrf_token: csrf } = (await (await fetch('/wsapi/session_context')).json()) as {
          csrf_token: string;
        };
        const res = await fetch('/wsapi/stage_user', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email, pass, site, csrf }),
        });
        return res.json();
      },
      { email, pass: PASSWORD, site: RP },
    );
    assert.deepEqual(staged, { success: true });
    await page.goto(linkIn(await smtp.waitFor(email), '/verify_email_address'));
    await waitForText(status, `Your address ${email} is confirmed.`);
    assert.equal(await page.getByLabel('The password you chose when you signed up').isVisible(), false);
    assert.equal(await page.getByRole('link', { name: 'Manage your Persona account' }).isVisible(), true);
    assert.equal(await signsIn(email, PASSWORD), true);
  });

  test('a password reset: the new password twice, then it is the password', async () => {
    const email = 'forgetful@example.com';
    await signUp(stack.base, smtp, email);
    const staged = await browser(stack.base).post('/wsapi/stage_reset', { email, site: RP });
    assert.deepEqual(staged.json(), { success: true });
    await page.goto(linkIn(await smtp.waitFor(email), '/reset_password'));

    const first = page.getByLabel('New password', { exact: true });
    await first.waitFor({ timeout: 10_000 });
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Choose a new password');
    assert.equal(await status().textContent(), `Choose a new password for ${email}.`);
    assert.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'new-password');
    const again = page.getByLabel('Type the new password again');
    const save = page.getByRole('button', { name: 'Save password' });

    await first.fill('short');
    await again.fill('short');
    await save.click();
    await waitForText(alert, 'at least 8 characters');
    await first.fill(NEW_PASSWORD);
    await again.fill(`${NEW_PASSWORD}!`);
    await save.click();
    await waitForText(alert, 'The two passwords are not the same.');
    assert.equal(await signsIn(email, PASSWORD), true, 'nothing changed yet');

    await again.fill(NEW_PASSWORD);
    await save.click();
    await waitForText(status, `Your new password is saved and ${email} is confirmed.`);
    assert.equal(await page.locator('#error').textContent(), '');
    assert.equal(await signsIn(email, NEW_PASSWORD), true);
    assert.equal(await signsIn(email, PASSWORD), false);
  });

  test('an added address, confirmed in another browser with the account password', async () => {
    const owner = 'owner@example.com';
    const added = 'second@example.com';
    const account = await signUp(stack.base, smtp, owner);
    const staged = await account.post('/wsapi/stage_email', { email: added, site: RP });
    assert.deepEqual(staged.json(), { success: true });
    await page.goto(linkIn(await smtp.waitFor(added), '/confirm'));

    const password = page.getByLabel('Your Persona password');
    await password.waitFor({ timeout: 10_000 });
    assert.equal(await status().textContent(), `Enter your password to confirm ${added}.`);
    await password.fill(PASSWORD);
    await password.press('Enter');
    await waitForText(status, `Your address ${added} is confirmed.`);
    const listed = await account.get('/wsapi/list_emails');
    assert.deepEqual([...(listed.json().emails as string[])].sort(), [owner, added].sort());
    // The dialog that staged it sees the addition complete.
    const polled = await account.get('/wsapi/email_addition_status', { email: added });
    assert.equal(polled.json().status, 'complete');
  });

  test('a transition link: the password chosen for it, then it is the password', async () => {
    const email = 'moving@example.com';
    await signUp(stack.base, smtp, email);
    const staged = await browser(stack.base).post('/wsapi/stage_transition', {
      email,
      pass: NEW_PASSWORD,
      site: RP,
    });
    assert.deepEqual(staged.json(), { success: true });
    await page.goto(linkIn(await smtp.waitFor(email), '/complete_transition'));

    const password = page.getByLabel('The password you chose for Persona');
    await password.waitFor({ timeout: 10_000 });
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Set your Persona password');
    await password.fill(PASSWORD);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await waitForText(alert, 'That password is not right');
    await password.fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await waitForText(status, `Your Persona password is set for ${email}.`);
    assert.equal(await signsIn(email, NEW_PASSWORD), true);
    assert.equal(await signsIn(email, PASSWORD), false);
  });

  test('a made-up token and a cut-off link each get a clear message', async () => {
    await page.goto(`${stack.base}/confirm?token=${'x'.repeat(48)}`);
    await waitForText(alert, 'This link was already used or has expired.');
    assert.equal(await status().textContent(), '');
    assert.equal(await page.getByLabel('Your Persona password').isVisible(), false);

    await page.goto(`${stack.base}/reset_password?token=abc`);
    await waitForText(alert, 'This link is incomplete.');
    assert.equal(await page.getByLabel('New password', { exact: true }).isVisible(), false);
  });
});
