/**
 * The whole service as real processes on SQLite (issue 4's proof): sign up, the mail, completion, sign-in,
 * a certificate for a browserid-crypto DS128 key, an assertion, /verify, and Mozilla's local verifier
 * accepting it from our support document; then failure paths across the tiers.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { browser } from '../helpers/browser.ts';
import { assertionFor, PASSWORD, RP, signUp, verifyRemotely, verifyWithMozilla } from '../helpers/flows.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp.ts';
import { startStack, type Stack } from '../helpers/stack.ts';

let smtp: SmtpSink;
let stack: Stack;

before(async () => {
  smtp = await startSmtpSink();
  stack = await startStack({ env: { PERSONA_SMTP_URL: smtp.url } });
});
after(async () => {
  await stack.stop();
  await smtp.close();
});

test('sign up → mail → completion → cert_key → assertion → /verify okay, and Mozilla local-verify agrees', async () => {
  const email = 'alice@example.com';
  const b = await signUp(stack.base, smtp, email);
  const { backed } = await assertionFor(b, email);
  const verified = await verifyRemotely(stack.base, backed);
  assert.equal(verified.status, 'okay', JSON.stringify(verified));
  assert.equal(verified.email, email);
  assert.equal(verified.audience, RP);
  assert.equal(verified.issuer, '127.0.0.1');
  const mozilla = await verifyWithMozilla(stack.base, backed, '127.0.0.1');
  assert.equal(mozilla.email, email);

  const wrongAudience = await verifyRemotely(stack.base, backed, 'https://evil.example');
  assert.deepEqual(wrongAudience, { status: 'failure', reason: 'audience mismatch: domain mismatch' });

  // Every tier's /metrics shows its share of that work.
  const metrics = async (port: number) =>
    await (await request(`http://127.0.0.1:${port}/metrics`)).body.text();
  const { config } = stack;
  assert.match(
    await metrics(config.routerPort),
    /persona_http_request_duration_seconds_count\{[^}]*route="\/\*"/,
  );
  const webhead = await metrics(config.webheadPort);
  assert.match(webhead, /persona_db_operation_seconds_count\{[^}]*operation="emailInfo"/);
  assert.match(webhead, /persona_bcrypt_queue\{[^}]*state="waiting"/);
  const dbwriter = await metrics(config.dbwriterPort);
  assert.match(dbwriter, /persona_bcrypt_seconds_count\{[^}]*kind="hash"[^}]*\} [1-9]/);
  assert.match(dbwriter, /persona_mails_sent_total\{[^}]*kind="new"/);
  assert.match(await metrics(config.keysignerPort), /persona_certification_seconds_count\{[^}]*\} [1-9]/);
  assert.match(
    await metrics(config.verifierPort),
    /persona_verifications_total\{[^}]*outcome="okay"[^}]*\} 1/,
  );
});

test('sign in again in a new browser, then the main failures: wrong password, someone else’s address, CSRF', async () => {
  const email = 'bob@example.com';
  await signUp(stack.base, smtp, email);
  const b = browser(stack.base);
  const wrong = await b.post('/wsapi/authenticate_user', {
    email,
    pass: 'not the password',
    ephemeral: false,
  });
  assert.equal(wrong.json().success, false);
  const login = await b.post('/wsapi/authenticate_user', { email, pass: PASSWORD, ephemeral: false });
  assert.equal(login.json().success, true, login.text);
  const { backed } = await assertionFor(b, email);
  assert.equal((await verifyRemotely(stack.base, backed)).status, 'okay');

  const other = await b.post('/wsapi/cert_key', {
    email: 'alice@example.com',
    pubkey: JSON.stringify({ algorithm: 'DS', y: 'ab'.repeat(40) }),
    ephemeral: false,
  });
  assert.equal(other.status, 400);
  assert.match(other.text, /that email does not belong to you/);

  const noCsrf = await b.post('/wsapi/logout', {}, { csrf: false });
  assert.equal(noCsrf.status, 400);
  assert.equal(noCsrf.text, 'Bad Request: CSRF violation');
  const fresh = browser(stack.base);
  const noCookie = await fresh.post('/wsapi/logout', {}, { csrf: false });
  assert.equal(noCookie.status, 403);
});

test('the router keeps internal ops and unknown ops out', async () => {
  const b = browser(stack.base);
  assert.equal(
    (await b.post('/wsapi/create_account_with_assertion', { email: 'x@example.com' })).status,
    404,
  );
  assert.equal((await b.get('/wsapi/no_such_op')).status, 400);
});

test('a password change in one browser ends the session in another; removing an address and cancelling the account', async () => {
  const email = 'frank@example.com';
  const first = await signUp(stack.base, smtp, email);
  const second = browser(stack.base);
  assert.equal(
    (await second.post('/wsapi/authenticate_user', { email, pass: PASSWORD, ephemeral: false })).json()
      .success,
    true,
  );
  assert.equal((await second.get('/wsapi/list_emails')).status, 200);

  const changed = await first.post('/wsapi/update_password', {
    oldpass: PASSWORD,
    newpass: 'a new password 1',
  });
  assert.deepEqual(changed.json(), { success: true }, changed.text);
  assert.equal((await first.get('/wsapi/list_emails')).status, 200, 'the browser that changed it stays in');
  const ended = await second.get('/wsapi/list_emails');
  assert.equal(ended.status, 400);
  assert.equal(ended.text, 'Bad Request: requires authentication');

  const removed = await first.post('/wsapi/remove_email', { email });
  assert.deepEqual(removed.json(), { success: true });
  assert.deepEqual((await first.get('/wsapi/list_emails')).json(), { success: true, emails: [] });
  assert.deepEqual((await first.post('/wsapi/account_cancel')).json(), { success: true });
  assert.deepEqual((await browser(stack.base).get('/wsapi/have_email', { email })).json(), {
    email_known: false,
  });
});

test('the mail throttle: a second sign-up mail to one address within a minute is 429', async () => {
  const b = browser(stack.base);
  const email = 'grace@example.com';
  assert.deepEqual((await b.post('/wsapi/stage_user', { email, pass: PASSWORD, site: RP })).json(), {
    success: true,
  });
  const again = await b.post('/wsapi/stage_user', { email, pass: PASSWORD, site: RP });
  assert.equal(again.status, 429);
  assert.equal(again.text, 'Too Many Requests: Too many emails sent to that address, try again later.');
  await smtp.waitFor(email);
  assert.equal(
    smtp.messages.filter((m) => m.to && JSON.stringify(m.to).includes(email)).length,
    1,
    'one mail only',
  );
});
