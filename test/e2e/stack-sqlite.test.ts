/**
 * The whole service as real processes on SQLite (issue 4's proof): sign up, the mail, completion, sign-in,
 * a certificate for a browserid-crypto DS128 key, an assertion, /verify, and Mozilla's local verifier
 * accepting it from our support document; then failure paths across the tiers.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
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
