/**
 * The dbwriter's end-user ops over real HTTP, signed as the router forwards them: sign-up, adding and
 * re-verifying addresses, password reset and change, transition, primaries, removal and cancellation,
 * with their failure paths (reference/persona.md §2.2, §5; SPEC §4.2).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DELEGATES_TO_US,
  OWN_ISSUER,
  PRIMARY,
  SITE,
  startDbwriter,
  type Harness,
} from './dbwriter-harness.ts';
import type { WsapiClient } from '../helpers/wsapi-client.ts';

const TOKEN = /^[A-Za-z0-9]{48}$/;
const DAY = 86_400_000;

async function started(t: { after: (fn: () => Promise<void>) => void }): Promise<Harness> {
  const h = await startDbwriter();
  t.after(() => h.close());
  return h;
}

/** A browser signed in as `userid` at `level`, as the webhead would have left it. */
async function signedIn(h: Harness, userid: number, level: 'password' | 'assertion' = 'password') {
  const b = h.browser();
  const lastPasswordReset = await h.writer.lastPasswordReset(userid);
  b.useSession({ userid, authLevel: level, lastPasswordReset }, 28 * DAY, h.now());
  return b;
}

/** A browser with a CSRF token and nobody signed in. */
function anonymous(h: Harness, ip?: string): WsapiClient {
  const b = h.browser(ip);
  b.useSession({}, 28 * DAY, h.now());
  return b;
}

/**
 * Alive: an authenticated op answers on its merits. Dead: signed out (400), or reset whole by a password
 * change elsewhere, CSRF token included (403), as the original.
 */
async function sessionAlive(b: WsapiClient): Promise<boolean> {
  const res = await b.post('remove_email', { email: 'nobody-owns-this@example.net' });
  if (res.status === 403) {
    assert.equal(res.text, 'Forbidden: no cookie');
    return false;
  }
  assert.equal(res.status, 400);
  return res.text !== 'Bad Request: requires authentication';
}

test('sign-up: stage_user mails a link; the same browser completes it and is signed in at password level', async (t) => {
  const h = await started(t);
  const b = anonymous(h);
  const staged = await b.post('stage_user', {
    email: 'alice@example.com',
    pass: 'first password',
    site: SITE,
  });
  assert.equal(staged.status, 200);
  assert.deepEqual(staged.json(), { success: true });
  const pending = b.session(h.now())?.pendingCreation;
  assert.match(String(pending), TOKEN);

  const mail = await h.mailTo('alice@example.com');
  assert.equal(mail.landing, '/verify_email_address');
  assert.equal(mail.token, pending);
  assert.match(mail.subject, /rp\.example\.org/);
  assert.equal(
    await h.writer.emailKnown('alice@example.com'),
    false,
    'nothing exists before the link is followed',
  );

  const done = await b.post('complete_user_creation', { token: mail.token });
  assert.equal(done.status, 200);
  assert.deepEqual(done.json(), { success: true });
  const userid = await h.writer.emailToUID('alice@example.com');
  assert.ok(userid);
  const session = b.session(h.now());
  assert.equal(session?.userid, userid);
  assert.equal(session?.authLevel, 'password');
  assert.equal(session?.lastPasswordReset, await h.writer.lastPasswordReset(userid));
  assert.equal(session?.pendingCreation, undefined);
  assert.ok(session?.csrf, 'the CSRF token survives signing in');

  const info = await h.writer.emailInfo('alice@example.com');
  assert.deepEqual(
    { verified: info?.verified, lastUsedAs: info?.lastUsedAs, hasPassword: info?.hasPassword },
    { verified: true, lastUsedAs: 'secondary', hasPassword: true },
  );
  const auth = await h.writer.checkAuth(userid);
  assert.ok(await h.hasher.compare('first password', auth?.hash ?? ''));

  const again = await b.post('complete_user_creation', { token: mail.token });
  assert.equal(again.status, 200);
  assert.deepEqual(again.json(), { success: false }, 'a used token is an unknown one');
});

test('stage_user signs the browser out first', async (t) => {
  const h = await started(t);
  const userid = await h.account('owner@example.com', 'owner password');
  const b = await signedIn(h, userid);
  const csrf = b.session(h.now())?.csrf;
  const staged = await b.post('stage_user', { email: 'new@example.com', pass: 'new password', site: SITE });
  assert.deepEqual(staged.json(), { success: true });
  const session = b.session(h.now());
  assert.equal(session?.userid, undefined);
  assert.equal(session?.authLevel, undefined);
  assert.equal(session?.csrf, csrf);
  assert.match(String(session?.pendingCreation), TOKEN);
});

test('complete_user_creation from another browser needs the password chosen at staging', async (t) => {
  const h = await started(t);
  await anonymous(h).post('stage_user', { email: 'bob@example.com', pass: 'bobs password', site: SITE });
  const { token } = await h.mailTo('bob@example.com');
  const other = anonymous(h, '203.0.113.50');

  const none = await other.post('complete_user_creation', { token });
  assert.equal(none.status, 401);
  assert.equal(none.text, 'Authentication Required: Provide your password');
  const wrong = await other.post('complete_user_creation', { token, pass: 'not bobs password' });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.text, 'Authentication Required: password mismatch');
  assert.equal(await h.writer.emailKnown('bob@example.com'), false);

  const right = await other.post('complete_user_creation', { token, pass: 'bobs password' });
  assert.deepEqual(right.json(), { success: true });
  assert.equal(other.session(h.now())?.userid, await h.writer.emailToUID('bob@example.com'));
});

test('unknown and expired tokens answer 200 {success:false} on every completion (SPEC §4.2)', async (t) => {
  const h = await started(t);
  const b = anonymous(h);
  const unknown = 'A'.repeat(48);
  for (const op of [
    'complete_user_creation',
    'complete_email_confirmation',
    'complete_reset',
    'complete_transition',
  ]) {
    for (const body of [{ token: unknown }, { token: unknown, pass: 'some password' }]) {
      const res = await b.post(op, body);
      assert.equal(res.status, 200, `${op} ${JSON.stringify(body)}`);
      assert.deepEqual(res.json(), { success: false });
    }
  }

  await b.post('stage_user', { email: 'late@example.com', pass: 'late password', site: SITE });
  const { token } = await h.mailTo('late@example.com');
  assert.equal(b.session(h.now())?.pendingCreation, token);
  h.advance(DAY + 1000);
  const expired = await b.post('complete_user_creation', { token });
  assert.equal(expired.status, 200);
  assert.deepEqual(expired.json(), { success: false });
  assert.equal(b.session(h.now())?.pendingCreation, undefined, 'a dead token leaves the session');
  assert.equal(await h.writer.emailKnown('late@example.com'), false);
});

test('one mail per address per minute: 429 with the original text, across staging ops, then allowed again', async (t) => {
  const h = await started(t);
  const b = anonymous(h);
  const body = { email: 'eager@example.com', pass: 'eager password', site: SITE };
  assert.equal((await b.post('stage_user', body)).status, 200);
  const second = await b.post('stage_user', body);
  assert.equal(second.status, 429);
  assert.equal(second.text, 'Too Many Requests: Too many emails sent to that address, try again later.');
  assert.ok(Number(second.headers['retry-after']) > 0 && Number(second.headers['retry-after']) <= 60);

  // The address has an account now: a reset mail is throttled by the same clock.
  await h.account('reset-me@example.com', 'reset password');
  assert.equal((await b.post('stage_reset', { email: 'reset-me@example.com', site: SITE })).status, 200);
  const reset = await b.post('stage_reset', { email: 'reset-me@example.com', site: SITE });
  assert.equal(reset.status, 429);

  h.advance(61_000);
  assert.deepEqual((await b.post('stage_user', body)).json(), { success: true });
  await h.mailTo('eager@example.com');
  await h.mailTo('eager@example.com');
  await h.mailTo('reset-me@example.com');
  assert.equal(h.sink.messages.length, 3, 'refused stagings sent nothing');
});

test('CSRF: no session token is 403, a wrong one 400; validation refuses unknown parameters', async (t) => {
  const h = await started(t);
  const noCookie = await h
    .browser()
    .post('stage_user', { email: 'c@example.com', pass: 'password c', site: SITE });
  assert.equal(noCookie.status, 403);
  assert.equal(noCookie.text, 'Forbidden: no cookie');

  const b = anonymous(h);
  const wrong = await b.post('stage_user', {
    email: 'c@example.com',
    pass: 'password c',
    site: SITE,
    csrf: 'nope',
  });
  assert.equal(wrong.status, 400);
  assert.equal(wrong.text, 'Bad Request: CSRF violation');

  const extra = await b.post('stage_user', {
    email: 'c@example.com',
    pass: 'password c',
    site: SITE,
    admin: true,
  });
  assert.equal(extra.status, 400);
  assert.deepEqual(extra.json(), { success: false, reason: 'extra parameters are not allowed: admin' });
  assert.equal(h.sink.messages.length, 0, 'no mail for refused requests');
});

test('allowUnverified sign-up: the account exists at once, signed in, its address unverified until confirmed', async (t) => {
  const h = await started(t);
  const b = anonymous(h);
  const res = await b.post('stage_user', {
    email: 'quick@example.com',
    pass: 'quick password',
    site: SITE,
    allowUnverified: true,
  });
  assert.deepEqual(res.json(), { success: true, unverified: true });
  const userid = await h.writer.emailToUID('quick@example.com');
  assert.ok(userid);
  assert.equal(await h.writer.emailIsVerified('quick@example.com'), false);
  const session = b.session(h.now());
  assert.equal(session?.userid, userid);
  assert.equal(session?.authLevel, 'password');

  const mail = await h.mailTo('quick@example.com');
  assert.equal(mail.landing, '/confirm');
  assert.equal(session?.pendingAddition, mail.token);
  assert.deepEqual((await b.post('complete_email_confirmation', { token: mail.token })).json(), {
    success: true,
  });
  assert.equal(await h.writer.emailIsVerified('quick@example.com'), true);

  const taken = await anonymous(h).post('stage_user', {
    email: 'quick@example.com',
    pass: 'other password',
    site: SITE,
    allowUnverified: true,
  });
  assert.equal(taken.status, 400);
  assert.equal(taken.text, 'Bad Request: that email address belongs to an account');
});

test('stage_email on an account with a password: no new password; confirmation by the session or the password', async (t) => {
  const h = await started(t);
  const userid = await h.account('carol@example.com', 'carol password');
  const b = await signedIn(h, userid);

  const withPass = await b.post('stage_email', {
    email: 'carol@work.example',
    site: SITE,
    pass: 'another one',
  });
  assert.deepEqual(withPass.json(), { success: false, reason: 'a password may not be set at this time' });

  const staged = await b.post('stage_email', { email: 'carol@work.example', site: SITE });
  assert.deepEqual(staged.json(), { success: true });
  const mail = await h.mailTo('carol@work.example');
  assert.equal(mail.landing, '/confirm');
  assert.equal(b.session(h.now())?.pendingAddition, mail.token);

  const other = anonymous(h, '203.0.113.9');
  const none = await other.post('complete_email_confirmation', { token: mail.token });
  assert.equal(none.status, 401);
  assert.equal(none.text, 'Authentication Required: password required');
  const wrong = await other.post('complete_email_confirmation', {
    token: mail.token,
    pass: 'wrong password',
  });
  assert.equal(wrong.text, 'Authentication Required: password mismatch');

  assert.deepEqual((await b.post('complete_email_confirmation', { token: mail.token })).json(), {
    success: true,
  });
  assert.deepEqual(await h.writer.listEmails(userid), ['carol@example.com', 'carol@work.example']);
  assert.equal(b.session(h.now())?.pendingAddition, undefined);

  const signedOut = await anonymous(h).post('stage_email', { email: 'x@example.com', site: SITE });
  assert.equal(signedOut.status, 400);
  assert.equal(signedOut.text, 'Bad Request: requires authentication');
});

test('stage_email on an account made through a primary: the first secondary address sets the password', async (t) => {
  const h = await started(t);
  const { userId } = await h.writer.createUserWithPrimaryEmail(`dan@${PRIMARY}`);
  const b = await signedIn(h, userId, 'assertion');

  const without = await b.post('stage_email', { email: 'dan@example.com', site: SITE });
  assert.deepEqual(without.json(), { success: false, reason: 'user must choose a password' });
  const staged = await b.post('stage_email', {
    email: 'dan@example.com',
    site: SITE,
    pass: 'dans new password',
  });
  assert.deepEqual(staged.json(), { success: true });
  const { token } = await h.mailTo('dan@example.com');

  // Signed in only through the primary: the password chosen at staging is the proof.
  const none = await b.post('complete_email_confirmation', { token });
  assert.equal(none.status, 401);
  assert.equal(none.text, 'Authentication Required: password required');
  const done = await b.post('complete_email_confirmation', { token, pass: 'dans new password' });
  assert.deepEqual(done.json(), { success: true });
  assert.equal(b.session(h.now())?.authLevel, 'password');
  const auth = await h.writer.checkAuth(userId);
  assert.ok(await h.hasher.compare('dans new password', auth?.hash ?? ''));
  assert.deepEqual(await h.writer.listEmails(userId), [`dan@${PRIMARY}`, 'dan@example.com']);
});

test('a staged password left by someone else never reaches the account that re-stages the address', async (t) => {
  const h = await started(t);
  const userid = await h.account('erin@example.com', 'erins password');
  // Someone stages a sign-up for an address erin is adding, with their own password...
  await anonymous(h, '203.0.113.66').post('stage_user', {
    email: 'erin@home.example',
    pass: 'attacker password',
    site: SITE,
  });
  await h.mailTo('erin@home.example');
  h.advance(61_000);
  // ...then erin adds it; the link she follows must not set the other person's password.
  const b = await signedIn(h, userid);
  assert.deepEqual((await b.post('stage_email', { email: 'erin@home.example', site: SITE })).json(), {
    success: true,
  });
  const { token } = await h.mailTo('erin@home.example');
  assert.deepEqual((await b.post('complete_email_confirmation', { token })).json(), { success: true });
  const auth = await h.writer.checkAuth(userid);
  assert.ok(await h.hasher.compare('erins password', auth?.hash ?? ''));
  assert.equal(await h.hasher.compare('attacker password', auth?.hash ?? ''), false);
});

test('password reset: new password, other sessions end, other addresses need re-verification, lockout cleared', async (t) => {
  const h = await started(t);
  const userid = await h.account('fay@example.com', 'old password');
  await h.writer.completeConfirmEmail(await h.writer.stageEmail(userid, 'fay@work.example', null));
  await h.writer.incAuthFailures(userid);
  await h.writer.incAuthFailures(userid);
  const elsewhere = await signedIn(h, userid);
  assert.equal(await sessionAlive(elsewhere), true);
  h.advance(2000); // lastPasswordReset counts seconds

  const b = anonymous(h, '203.0.113.20');
  const unknown = await b.post('stage_reset', { email: 'nobody@example.com', site: SITE });
  assert.deepEqual(unknown.json(), { success: false, reason: 'No such email address.' });
  assert.deepEqual((await b.post('stage_reset', { email: 'fay@example.com', site: SITE })).json(), {
    success: true,
  });
  const mail = await h.mailTo('fay@example.com');
  assert.equal(mail.landing, '/reset_password');
  assert.equal(b.session(h.now())?.pendingReset, mail.token);

  const none = await b.post('complete_reset', { token: mail.token });
  assert.equal(none.status, 401);
  assert.equal(none.text, 'Authentication Required: Provide your password');
  const done = await b.post('complete_reset', { token: mail.token, pass: 'brand new password' });
  assert.deepEqual(done.json(), { success: true });

  const session = b.session(h.now());
  assert.equal(session?.userid, userid);
  assert.equal(session?.authLevel, 'password');
  assert.equal(session?.lastPasswordReset, await h.writer.lastPasswordReset(userid));
  assert.equal(session?.pendingReset, undefined);
  assert.equal(await sessionAlive(b), true);
  assert.equal(await sessionAlive(elsewhere), false, "the other browser's session died");
  assert.equal(elsewhere.session(h.now())?.userid, undefined, 'and its cookie was reset');

  const auth = await h.writer.checkAuth(userid);
  assert.equal(auth?.failedAuthTries, 0);
  assert.ok(await h.hasher.compare('brand new password', auth?.hash ?? ''));
  assert.equal(await h.hasher.compare('old password', auth?.hash ?? ''), false);
  assert.equal(await h.writer.emailIsVerified('fay@example.com'), true);
  assert.equal(await h.writer.emailIsVerified('fay@work.example'), false);

  // Re-verification of the other address: owned and unverified only, not throttled per address.
  const verified = await b.post('stage_reverify', { email: 'fay@example.com', site: SITE });
  assert.deepEqual(verified.json(), { success: false, reason: 'email is already verified' });
  const notMine = await b.post('stage_reverify', { email: 'someone@example.com', site: SITE });
  assert.deepEqual(notMine.json(), { success: false, reason: "you don't control that email address" });
  assert.deepEqual((await b.post('stage_reverify', { email: 'fay@work.example', site: SITE })).json(), {
    success: true,
  });
  const first = await h.mailTo('fay@work.example');
  assert.deepEqual((await b.post('stage_reverify', { email: 'fay@work.example', site: SITE })).json(), {
    success: true,
  });
  const second = await h.mailTo('fay@work.example');
  assert.equal(second.landing, '/confirm');
  assert.equal(b.session(h.now())?.pendingReverification, second.token);
  assert.deepEqual((await b.post('complete_email_confirmation', { token: first.token })).json(), {
    success: false,
  });
  assert.deepEqual((await b.post('complete_email_confirmation', { token: second.token })).json(), {
    success: true,
  });
  assert.equal(await h.writer.emailIsVerified('fay@work.example'), true);
});

test('transition from a primary: the password staged with the mail becomes the account password', async (t) => {
  const h = await started(t);
  const { userId } = await h.writer.createUserWithPrimaryEmail('gus@example.com');
  const b = anonymous(h);
  const unknown = await b.post('stage_transition', {
    email: 'who@example.com',
    site: SITE,
    pass: 'gus password',
  });
  assert.deepEqual(unknown.json(), { success: false, reason: 'No such email address.' });
  const staged = await b.post('stage_transition', {
    email: 'gus@example.com',
    site: SITE,
    pass: 'gus password',
  });
  assert.deepEqual(staged.json(), { success: true });
  const mail = await h.mailTo('gus@example.com');
  assert.equal(mail.landing, '/complete_transition');

  const other = anonymous(h, '203.0.113.77');
  const none = await other.post('complete_transition', { token: mail.token });
  assert.equal(none.status, 401);
  assert.equal(none.text, 'Authentication Required: Provide your password');
  const wrong = await other.post('complete_transition', { token: mail.token, pass: 'not gus password' });
  assert.equal(wrong.text, 'Authentication Required: password mismatch');

  assert.deepEqual((await b.post('complete_transition', { token: mail.token })).json(), { success: true });
  assert.equal(b.session(h.now())?.userid, userId);
  assert.equal(b.session(h.now())?.authLevel, 'password');
  const auth = await h.writer.checkAuth(userId);
  assert.ok(await h.hasher.compare('gus password', auth?.hash ?? ''));
  assert.equal(await h.writer.emailType('gus@example.com'), 'secondary');
});

test('update_password checks the old password; a new one ends other sessions but not this one', async (t) => {
  const h = await started(t);
  const userid = await h.account('hal@example.com', 'hal password 1');
  const here = await signedIn(h, userid);
  const there = await signedIn(h, userid);
  h.advance(2000);

  const wrong = await here.post('update_password', {
    oldpass: 'not the password',
    newpass: 'hal password 2',
  });
  assert.equal(wrong.status, 200);
  assert.equal(wrong.json().success, false);
  assert.equal(await sessionAlive(there), true);

  const right = await here.post('update_password', { oldpass: 'hal password 1', newpass: 'hal password 2' });
  assert.deepEqual(right.json(), { success: true });
  assert.equal(await sessionAlive(here), true, 'this session carries the new lastPasswordReset');
  assert.equal(here.session(h.now())?.lastPasswordReset, await h.writer.lastPasswordReset(userid));
  assert.equal(await sessionAlive(there), false, 'the other one ended');
  const auth = await h.writer.checkAuth(userid);
  assert.ok(await h.hasher.compare('hal password 2', auth?.hash ?? ''));

  // The same password again is a rehash: sessions live on.
  const third = await signedIn(h, userid);
  h.advance(2000);
  const same = await here.post('update_password', { oldpass: 'hal password 2', newpass: 'hal password 2' });
  assert.deepEqual(same.json(), { success: true });
  assert.equal(await sessionAlive(third), true);

  const primaryOnly = (await h.writer.createUserWithPrimaryEmail(`ivy@${PRIMARY}`)).userId;
  const noPassword = await (
    await signedIn(h, primaryOnly, 'assertion')
  ).post('update_password', {
    oldpass: 'whatever pass',
    newpass: 'whatever pass 2',
  });
  assert.equal(noPassword.json().success, false);
});

test('remove_email only for owned addresses; account_cancel removes everything and signs out', async (t) => {
  const h = await started(t);
  const userid = await h.account('jo@example.com', 'jo password');
  await h.writer.completeConfirmEmail(await h.writer.stageEmail(userid, 'jo@work.example', null));
  await h.account('kim@example.com', 'kim password');
  const b = await signedIn(h, userid);

  const notMine = await b.post('remove_email', { email: 'kim@example.com' });
  assert.equal(notMine.status, 400);
  assert.equal(notMine.text, "Bad Request: authenticated user doesn't own that email");
  assert.equal(await h.writer.emailKnown('kim@example.com'), true);
  assert.deepEqual((await b.post('remove_email', { email: 'jo@work.example' })).json(), { success: true });
  assert.deepEqual(await h.writer.listEmails(userid), ['jo@example.com']);

  await h.writer.stageEmail(userid, 'jo@later.example', null);
  assert.equal(await h.writer.isStaged('jo@later.example'), true);
  assert.deepEqual((await b.post('account_cancel')).json(), { success: true });
  assert.equal(b.session(h.now())?.userid, undefined);
  assert.equal(await h.writer.userKnown(userid), false);
  assert.equal(await h.writer.emailKnown('jo@example.com'), false);
  assert.equal(await h.writer.isStaged('jo@later.example'), false);
  assert.equal(await sessionAlive(b), false);
  assert.equal(
    await sessionAlive(await signedIn(h, userid)),
    false,
    'an old cookie of the account is dead too',
  );
});

test("add_email_with_assertion takes a primary's assertion made for us, never one we certified ourselves", async (t) => {
  const h = await started(t);
  const userid = await h.account('lee@example.com', 'lee password');
  const otherAccount = (await h.writer.createUserWithPrimaryEmail(`moved@${PRIMARY}`)).userId;
  const b = await signedIn(h, userid, 'assertion');

  const added = await b.post('add_email_with_assertion', { assertion: h.assertion(`lee@${PRIMARY}`) });
  assert.deepEqual(added.json(), { success: true });
  assert.equal(await h.writer.emailToUID(`lee@${PRIMARY}`), userid);
  assert.equal(await h.writer.emailType(`lee@${PRIMARY}`), 'primary');

  const moved = await b.post('add_email_with_assertion', { assertion: h.assertion(`moved@${PRIMARY}`) });
  assert.deepEqual(moved.json(), { success: true });
  assert.equal(
    await h.writer.emailToUID(`moved@${PRIMARY}`),
    userid,
    'proved by its primary, the address moves',
  );
  assert.deepEqual(await h.writer.listEmails(otherAccount), []);

  const refusals: [string, RegExp][] = [
    [h.assertion(`x@${PRIMARY}`, { audience: 'https://rp.example.org' }), /^audience mismatch/],
    [h.assertion(`x@${DELEGATES_TO_US}`, { issuer: OWN_ISSUER }), /issued by it/],
    [h.assertion('x@example.com'), /may not speak for emails from 'example.com'/],
  ];
  for (const [assertion, reason] of refusals) {
    const res = await b.post('add_email_with_assertion', { assertion });
    assert.equal(res.status, 200);
    assert.equal(res.json().success, false);
    assert.match(String(res.json().reason), reason);
  }
  const stale = h.assertion(`late@${PRIMARY}`);
  h.advance(3 * 60_000);
  const expired = await b.post('add_email_with_assertion', { assertion: stale });
  assert.deepEqual(expired.json(), { success: false, reason: 'assertion has expired' });
  assert.equal(await h.writer.emailKnown(`x@${DELEGATES_TO_US}`), false);
});

test('used_address_as_primary: only for an owned address whose domain is a primary now', async (t) => {
  const h = await started(t);
  const userid = await h.account('max@example.com', 'max password');
  await h.writer.completeConfirmEmail(await h.writer.stageEmail(userid, `max@${PRIMARY}`, null));
  await h.account(`ned@${PRIMARY}`, 'ned password');
  const b = await signedIn(h, userid, 'assertion');
  assert.equal(await h.writer.emailType(`max@${PRIMARY}`), 'secondary');

  assert.deepEqual((await b.post('used_address_as_primary', { email: `max@${PRIMARY}` })).json(), {
    success: true,
  });
  assert.equal(await h.writer.emailType(`max@${PRIMARY}`), 'primary');
  const secondary = await b.post('used_address_as_primary', { email: 'max@example.com' });
  assert.equal(secondary.status, 400);
  assert.equal(secondary.text, 'Bad Request: email is not a primary');
  const notMine = await b.post('used_address_as_primary', { email: `ned@${PRIMARY}` });
  assert.equal(notMine.status, 400);
  assert.equal(notMine.text, 'Bad Request: that email does not belong to you');
  assert.equal(await h.writer.emailType(`ned@${PRIMARY}`), 'secondary');
});
