// Issue 10 item 4, SPEC §4.12: logout, password change and account cancel end the session server-side,
// so a copy of the cookie saved before them no longer authenticates, on this webhead, another webhead
// and the dbwriter alike. Real webheads, a real dbwriter and SQLite (test/tiers/webhead-harness.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PASSWORD, startStack, type Browser, type Other, type Stack } from './webhead-harness.ts';

let stack: Stack;
let other: Other;
let n = 0;
before(async () => {
  stack = await startStack();
  other = await stack.another({});
});
after(() => stack.close());

/** A signed-in browser on the first webhead, for a new account. */
async function signedIn(): Promise<{ b: Browser; email: string; userid: number }> {
  const email = `revoke${++n}@example.com`;
  const userid = await stack.addSecondary(email);
  const b = stack.browser();
  const answer = await b.signIn(email);
  assert.equal(answer.json().success, true);
  return { b, email, userid };
}

/**
 * Whether `cookie` authenticates: as session_context sees it on either webhead, and as a signed-in op on
 * the dbwriter (remove_email of an address the account lacks: 200 or 400 "that email does not belong to
 * you" when signed in; a revoked session is emptied, CSRF token and all, so 403).
 */
async function authenticates(
  cookie: string,
): Promise<{ webhead: boolean; other: boolean; dbwriter: boolean }> {
  const here = stack.browser();
  here.cookie = cookie;
  const there = other.browser();
  there.cookie = cookie;
  const writes = stack.browser();
  writes.cookie = cookie;
  const csrf = writes.session()?.csrf;
  const removed = await writes.post('remove_email', { email: 'nobody@example.com', csrf });
  return {
    webhead: (await here.context()).authenticated === true,
    other: (await there.context()).authenticated === true,
    dbwriter: removed.status !== 403 && !/requires authentication/.test(removed.text),
  };
}

const everywhere = { webhead: true, other: true, dbwriter: true };
const nowhere = { webhead: false, other: false, dbwriter: false };

test('a cookie saved before logout no longer authenticates on any webhead or the dbwriter', async () => {
  const { b } = await signedIn();
  const saved = b.cookie;
  assert.deepEqual(await authenticates(saved), everywhere);
  assert.deepEqual((await b.post('logout')).json(), { success: true });
  // Revocation is read with the session's other checks, so it holds at once, not after a cache expires.
  assert.deepEqual(await authenticates(saved), nowhere);
  assert.equal((await b.context()).authenticated, false);
});

test('a cookie saved before "this is my computer" dies with the logout that follows it', async () => {
  const { b } = await signedIn();
  const saved = b.cookie;
  assert.equal((await b.post('prolong_session')).text, 'OK');
  assert.notEqual(b.cookie, saved);
  await b.post('logout');
  assert.deepEqual(await authenticates(saved), nowhere);
});

test('signing in again on a signed-out browser starts a session that logout ended for nobody else', async () => {
  const first = await signedIn();
  const second = stack.browser();
  await second.signIn(first.email);
  await first.b.post('logout');
  // Each browser has its own session: one signing out leaves the other signed in.
  assert.deepEqual(await authenticates(second.cookie), everywhere);
});

test('a password change ends the cookie saved before it, the changing browser carrying on; same password too', async () => {
  const { b } = await signedIn();
  const elsewhere = stack.browser();
  await elsewhere.signIn(`revoke${n}@example.com`);
  const saved = b.cookie;
  const changed = await b.post('update_password', { oldpass: PASSWORD, newpass: 'a brand new password' });
  assert.deepEqual(changed.json(), { success: true });
  assert.deepEqual(await authenticates(saved), nowhere);
  assert.deepEqual(await authenticates(elsewhere.cookie), nowhere);
  assert.deepEqual(await authenticates(b.cookie), everywhere);

  // "Changing" to the same password ends saved copies too: a stolen cookie dies with a password change.
  const before = b.cookie;
  const same = await b.post('update_password', {
    oldpass: 'a brand new password',
    newpass: 'a brand new password',
  });
  assert.deepEqual(same.json(), { success: true });
  assert.deepEqual(await authenticates(before), nowhere);
  assert.deepEqual(await authenticates(b.cookie), everywhere);
});

test('an account cancel ends the cookie saved before it', async () => {
  const { b } = await signedIn();
  const saved = b.cookie;
  assert.deepEqual((await b.post('account_cancel')).json(), { success: true });
  assert.deepEqual(await authenticates(saved), nowhere);
});

test('a cookie sealed before sessions had ids keeps working, gets an id at its next use, and its logout holds', async () => {
  const email = `legacy${++n}@example.com`;
  const userid = await stack.addSecondary(email);
  const b = stack.browser();
  b.useSession({
    userid,
    authLevel: 'password',
    lastPasswordReset: (await stack.reader.lastPasswordReset(userid)) ?? 0,
  });
  const legacy = b.cookie;
  assert.equal(b.session()?.sid, undefined);
  assert.equal((await b.context()).authenticated, true);
  const sid = b.session()?.sid;
  assert.match(String(sid), /^[A-Za-z0-9_-]{22}$/);
  const upgraded = b.cookie;
  await b.post('logout');
  assert.deepEqual(await authenticates(upgraded), nowhere);
  // The copy without an id cannot be told apart from its siblings: it lives until it expires or a
  // user-wide revocation (a password change) ends it.
  assert.equal((await authenticates(legacy)).webhead, true);
  const changer = stack.browser();
  await changer.signIn(email);
  await changer.post('update_password', { oldpass: PASSWORD, newpass: 'legacy is over now' });
  assert.deepEqual(await authenticates(legacy), nowhere);
});

test('a successful sign-in writes nothing; a logout writes one revocation through the dbwriter', async () => {
  const before = await stack.dbwriterOps();
  const { b } = await signedIn();
  const signedInOps = await stack.dbwriterOps();
  assert.deepEqual(signedInOps, before, 'a successful sign-in made no internal dbwriter call');
  await b.post('logout');
  const after = await stack.dbwriterOps();
  assert.equal((after.revoke_session ?? 0) - (before.revoke_session ?? 0), 1);
  // Logging out a browser that is not signed in revokes nothing.
  await b.post('logout');
  assert.equal((await stack.dbwriterOps()).revoke_session, after.revoke_session);
});
