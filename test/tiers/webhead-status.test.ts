/**
 * Emailed verifications seen from the webhead: email_for_token and the *_status ops the dialog polls,
 * driven by real staging and completion on the real dbwriter; the development-only routes when enabled.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import bcrypt from 'bcrypt';
import { createMailer } from '../../src/mail/index.ts';
import { COST, PASSWORD, startStack, type Stack } from './webhead-harness.ts';

const SITE = 'https://rp.example.org';
let stack: Stack;
before(async () => {
  stack = await startStack();
});
after(() => stack.close());

const tokenFor = (email: string): string => {
  const mail = stack.mails.findLast((m) => m.to === email);
  assert.ok(mail, `a mail to ${email}`);
  return mail.token;
};

test('sign-up: pending until the link is followed; the same browser completes without a password', async () => {
  const b = stack.browser('198.51.100.50');
  await b.context();
  assert.deepEqual((await b.get('user_creation_status', { email: 'new@example.org' })).json(), {
    status: 'mustAuth',
  });
  assert.deepEqual(
    (await b.post('stage_user', { email: 'new@example.org', pass: PASSWORD, site: SITE })).json(),
    { success: true },
  );
  assert.deepEqual((await b.get('user_creation_status', { email: 'new@example.org' })).json(), {
    status: 'pending',
  });
  const token = tokenFor('new@example.org');

  assert.deepEqual((await b.get('email_for_token', { token })).json(), {
    success: true,
    email: 'new@example.org',
    must_auth: false,
    needs_password: false,
  });
  const elsewhere = stack.browser('198.51.100.51');
  assert.equal((await elsewhere.get('email_for_token', { token })).json().must_auth, true);
  assert.deepEqual((await elsewhere.get('user_creation_status', { email: 'new@example.org' })).json(), {
    status: 'mustAuth',
  });

  assert.equal((await b.post('complete_user_creation', { token })).json().success, true);
  const userid = await stack.reader.emailToUID('new@example.org');
  assert.deepEqual((await b.get('user_creation_status', { email: 'new@example.org' })).json(), {
    status: 'complete',
    userid,
  });
  assert.deepEqual((await b.get('email_for_token', { token })).json(), {
    success: false,
    reason: 'no such secret',
  });
});

test('a sign-up completed in another browser: the first one must sign in, and forgets its pending token', async () => {
  const b = stack.browser('198.51.100.52');
  await b.context();
  await b.post('stage_user', { email: 'other@example.org', pass: PASSWORD, site: SITE });
  const token = tokenFor('other@example.org');
  const elsewhere = stack.browser('198.51.100.53');
  await elsewhere.context();
  assert.equal(
    (await elsewhere.post('complete_user_creation', { token, pass: PASSWORD })).json().success,
    true,
  );
  const status = await b.get('user_creation_status', { email: 'other@example.org' });
  assert.deepEqual(status.json(), { status: 'mustAuth' });
  assert.match(String(status.headers['set-cookie']), /^browserid_state_/, 'the session dropped its token');
  assert.deepEqual((await b.get('user_creation_status', { email: 'other@example.org' })).json(), {
    status: 'mustAuth',
  });
});

test('adding an address: pending, then complete; needs the password-level session of the account to skip auth', async () => {
  const userid = await stack.addSecondary('adder@example.org');
  const b = stack.browser('198.51.100.54');
  assert.equal((await b.signIn('adder@example.org')).json().success, true);
  assert.deepEqual((await b.get('email_addition_status', { email: 'added@example.org' })).json(), {
    status: 'failed',
  });
  assert.equal(
    (await b.post('stage_email', { email: 'added@example.org', site: SITE })).json().success,
    true,
  );
  assert.deepEqual((await b.get('email_addition_status', { email: 'added@example.org' })).json(), {
    status: 'pending',
  });
  const token = tokenFor('added@example.org');
  assert.deepEqual((await b.get('email_for_token', { token })).json(), {
    success: true,
    email: 'added@example.org',
    must_auth: false,
    // No password was staged with the addition: the landing page asks for the account's.
    needs_password: true,
  });
  assert.equal((await stack.browser().get('email_for_token', { token })).json().must_auth, true);
  assert.equal((await b.post('complete_email_confirmation', { token })).json().success, true);
  assert.deepEqual((await b.get('email_addition_status', { email: 'added@example.org' })).json(), {
    status: 'complete',
  });
  assert.deepEqual(await stack.reader.listEmails(userid), ['adder@example.org', 'added@example.org']);
  const anonymous = stack.browser();
  assert.equal(
    (await anonymous.get('email_addition_status', { email: 'added@example.org' })).text,
    'Bad Request: requires authentication',
  );
});

test('password reset and transition status: pending while staged, then complete for the owner, else mustAuth', async () => {
  const userid = await stack.addSecondary('forgot@example.org');
  const b = stack.browser('198.51.100.55');
  await b.context();
  assert.deepEqual((await b.get('password_reset_status', { email: 'forgot@example.org' })).json(), {
    status: 'mustAuth',
  });
  assert.equal(
    (await b.post('stage_reset', { email: 'forgot@example.org', site: SITE })).json().success,
    true,
  );
  assert.deepEqual((await b.get('password_reset_status', { email: 'forgot@example.org' })).json(), {
    status: 'pending',
  });
  assert.deepEqual((await b.get('transition_status', { email: 'forgot@example.org' })).json(), {
    status: 'pending',
  });
  const token = tokenFor('forgot@example.org');
  const forToken = (await b.get('email_for_token', { token })).json();
  assert.equal(forToken.must_auth, false);
  assert.equal(forToken.needs_password, true);
  assert.equal((await b.post('complete_reset', { token, pass: 'the new password' })).json().success, true);
  assert.deepEqual((await b.get('password_reset_status', { email: 'forgot@example.org' })).json(), {
    status: 'complete',
    userid,
  });
  assert.deepEqual((await stack.browser().get('transition_status', { email: 'forgot@example.org' })).json(), {
    status: 'mustAuth',
  });
});

test('re-verification status: complete only for a verified address of the signed-in account', async () => {
  const { userId, secret } = await stack.writer.createUnverifiedUser(
    'reverify@example.org',
    await bcrypt.hash(PASSWORD, COST),
  );
  await stack.addSecondary('stranger@example.org');
  const b = stack.browser('198.51.100.56');
  assert.equal((await b.signIn('reverify@example.org')).json().success, true);
  assert.deepEqual((await b.get('email_reverify_status', { email: 'reverify@example.org' })).json(), {
    status: 'pending',
  });
  await stack.writer.completeConfirmEmail(secret);
  assert.equal(await stack.reader.emailToUID('reverify@example.org'), userId);
  assert.deepEqual((await b.get('email_reverify_status', { email: 'reverify@example.org' })).json(), {
    status: 'complete',
  });
  assert.deepEqual((await b.get('email_reverify_status', { email: 'stranger@example.org' })).json(), {
    status: 'pending',
  });
});

test('email_for_token: bad tokens are refused by validation, unknown ones are {success:false}', async () => {
  const b = stack.browser();
  assert.deepEqual((await b.get('email_for_token', { token: 'A'.repeat(48) })).json(), {
    success: false,
    reason: 'no such secret',
  });
  const bad = await b.get('email_for_token', { token: 'short' });
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.json(), { success: false, reason: 'token: not a valid token' });
});

test('fake_verification, when enabled, answers the pending token as text', async () => {
  const other = await stack.another({ fakeVerification: true });
  const b = stack.browser('198.51.100.57');
  await b.context();
  await b.post('stage_user', { email: 'fake@example.org', pass: PASSWORD, site: SITE });
  const res = await other.send('GET', '/wsapi/fake_verification?email=fake%40example.org');
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain/);
  assert.equal(res.text, tokenFor('fake@example.org'));
  const none = await other.send('GET', '/wsapi/fake_verification?email=none%40example.org');
  assert.equal(none.status, 400);
  assert.equal(none.text, 'Bad Request: no pending verification for that email');
  assert.equal((await other.send('GET', '/wsapi/fake_verification?email=nope')).status, 400);
});

test('the development mailbox, when enabled, lists sent mail with its links, escaped', async () => {
  const dir = join(stack.dir, 'mailbox');
  const mailer = createMailer({
    publicUrl: 'https://login.persona.test',
    from: 'x@persona.test',
    smtpUrl: '',
    mailboxDir: dir,
  });
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = () => true; // the development mailer prints each message
  try {
    await mailer.send({ kind: 'new', to: 'mb<i>@example.org', token: 'T'.repeat(48), site: SITE });
  } finally {
    process.stdout.write = write;
  }
  const other = await stack.another({ devMailboxDir: dir });
  const page = await other.send('GET', '/__mailbox__');
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.ok(page.text.includes(`https://login.persona.test/verify_email_address?token=${'T'.repeat(48)}`));
  assert.ok(page.text.includes('mb&#60;i&#62;@example.org'));
  assert.ok(!page.text.includes('<i>'));
  const listed = (await other.send('GET', '/__mailbox__.json')).json();
  const messages = listed.messages as { to: string; link: string }[];
  assert.equal(messages.length, 1);
  assert.equal(messages[0]?.to, 'mb<i>@example.org');
});
