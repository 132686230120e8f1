/**
 * The internal ops: served only to the webhead's tier signature (the router's gets 404, an unsigned call
 * 403), with the user named explicitly instead of the end user's cookie.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { createPasswordHasher, bcryptCost } from '../../src/passwords/index.ts';
import { PRIMARY, startDbwriter, type Harness } from './dbwriter-harness.ts';

async function started(t: { after: (fn: () => Promise<void>) => void }, options = {}): Promise<Harness> {
  const h = await startDbwriter(options);
  t.after(() => h.close());
  return h;
}

const INTERNAL_CALLS: [string, Record<string, unknown>][] = [
  ['create_account_with_assertion', { email: `new@${PRIMARY}` }],
  ['user_used_email_as', { userid: 1, email: 'a@example.com', used_as: 'primary' }],
  ['increment_failed_auth_tries', { userid: 1 }],
  ['reset_failed_auth_tries', { userid: 1 }],
  ['rehash_password', { userid: 1, pass: 'some password' }],
  ['hit_rate_limit', { bucket: 'auth:ip:192.0.2.1' }],
  ['saw_idp', { domain: PRIMARY }],
  ['forget_idp', { domain: PRIMARY }],
  ['revoke_session', { sid: 'a-revoked-session-id01', expiresAt: 4_102_444_800_000 }],
];

test("internal ops answer 404 to the router's signature, 403 unsigned, and change nothing", async (t) => {
  const h = await started(t);
  const userid = await h.account('a@example.com', 'a password');
  await h.writer.incAuthFailures(userid);
  const router = h.browser();
  router.useSession({
    userid,
    authLevel: 'password',
    lastPasswordReset: await h.writer.lastPasswordReset(userid),
  });
  for (const [op, body] of INTERNAL_CALLS) {
    const res = await router.post(op, body);
    assert.equal(res.status, 404, op);
    assert.equal(res.text, 'Not Found: no such api');
    const unsigned = await request(`${h.base}/wsapi/${op}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(unsigned.statusCode, 403, op);
    assert.match(await unsigned.body.text(), /^Forbidden: this tier only answers signed calls/);
  }
  assert.equal(await h.writer.emailKnown(`new@${PRIMARY}`), false);
  assert.equal(await h.writer.emailType('a@example.com'), 'secondary');
  assert.equal((await h.writer.checkAuth(userid))?.failedAuthTries, 1);
  assert.equal(await h.writer.getIDPLastSeen(PRIMARY), undefined);
});

test('create_account_with_assertion: an account without a password; the same address again gives the same one', async (t) => {
  const h = await started(t);
  const webhead = h.webhead();
  const res = await webhead.post('create_account_with_assertion', { email: `ola@${PRIMARY}` });
  assert.equal(res.status, 200);
  const body = res.json();
  assert.equal(body.success, true);
  assert.equal(body.userid, await h.writer.emailToUID(`ola@${PRIMARY}`));
  assert.equal(body.lastPasswordReset, await h.writer.lastPasswordReset(body.userid as number));
  assert.equal((await h.writer.checkAuth(body.userid as number))?.hash, null);
  assert.equal(await h.writer.emailType(`ola@${PRIMARY}`), 'primary');
  assert.equal(res.headers['set-cookie'], undefined, 'no end-user session is involved');

  const again = (await webhead.post('create_account_with_assertion', { email: `ola@${PRIMARY}` })).json();
  assert.equal(again.userid, body.userid);

  const bad = await webhead.post('create_account_with_assertion', { email: 'not an address' });
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.json(), { success: false, reason: 'email: not a valid email address' });
});

test('user_used_email_as records how an owned address was last used', async (t) => {
  const h = await started(t);
  const userid = await h.account('pia@example.com', 'pia password');
  const other = await h.account('quinn@example.com', 'quinn password');
  const webhead = h.webhead();
  const used = await webhead.post('user_used_email_as', {
    userid,
    email: 'pia@example.com',
    used_as: 'primary',
  });
  assert.deepEqual(used.json(), { success: true });
  assert.equal(await h.writer.emailType('pia@example.com'), 'primary');
  const notTheirs = await webhead.post('user_used_email_as', {
    userid: other,
    email: 'pia@example.com',
    used_as: 'secondary',
  });
  assert.equal(notTheirs.status, 400);
  assert.equal(notTheirs.text, 'Bad Request: that email does not belong to you');
  assert.equal(await h.writer.emailType('pia@example.com'), 'primary');
  const badType = await webhead.post('user_used_email_as', {
    userid,
    email: 'pia@example.com',
    used_as: 'other',
  });
  assert.equal(badType.status, 400);
});

test('failed sign-ins are counted and cleared for the named user', async (t) => {
  const h = await started(t);
  const userid = await h.account('ray@example.com', 'ray password');
  const webhead = h.webhead();
  for (let i = 0; i < 3; i++)
    assert.deepEqual((await webhead.post('increment_failed_auth_tries', { userid })).json(), {
      success: true,
    });
  assert.equal((await h.writer.checkAuth(userid))?.failedAuthTries, 3);
  assert.deepEqual((await webhead.post('reset_failed_auth_tries', { userid })).json(), { success: true });
  assert.equal((await h.writer.checkAuth(userid))?.failedAuthTries, 0);
  const missing = await webhead.post('reset_failed_auth_tries', {});
  assert.equal(missing.status, 400);
  assert.deepEqual(missing.json(), { success: false, reason: "missing required parameter: 'userid'" });
});

test('rehash_password moves a hash to the configured cost, only for the current password', async (t) => {
  const h = await started(t);
  const userid = await h.account('sam@example.com', 'sam password');
  const oldCost = createPasswordHasher({ cost: 5 });
  await h.writer.updatePassword(userid, await oldCost.hash('sam password'), false);
  const webhead = h.webhead();

  const wrong = await webhead.post('rehash_password', { userid, pass: 'a changed password' });
  assert.deepEqual(wrong.json(), { success: false, reason: 'password mismatch' });
  assert.equal(bcryptCost((await h.writer.checkAuth(userid))?.hash ?? ''), 5);

  const right = await webhead.post('rehash_password', { userid, pass: 'sam password' });
  assert.deepEqual(right.json(), { success: true, rehashed: true });
  const hash = (await h.writer.checkAuth(userid))?.hash ?? '';
  assert.equal(bcryptCost(hash), 4);
  assert.ok(await h.hasher.compare('sam password', hash));
  assert.deepEqual((await webhead.post('rehash_password', { userid, pass: 'sam password' })).json(), {
    success: true,
    rehashed: false,
  });
});

test('hit_rate_limit counts per bucket with the limit of its prefix, case-blind; unknown prefixes are refused', async (t) => {
  const h = await started(t, { deps: { rateLimits: { 'auth:addr': { limit: 2, windowMs: 60_000 } } } });
  const webhead = h.webhead();
  const hit = async (bucket: string) => (await webhead.post('hit_rate_limit', { bucket })).json();
  const before = h.now();
  const first = await hit('auth:addr:tia@example.com');
  assert.equal(first.success, true);
  assert.equal(first.allowed, true);
  assert.equal(first.hits, 1);
  assert.equal(first.limit, 2);
  assert.ok((first.resetAt as number) >= before + 60_000 && (first.resetAt as number) <= h.now() + 60_000);
  assert.equal((await hit('auth:addr:TIA@example.com')).allowed, true);
  const third = await hit('auth:addr:tia@example.com');
  assert.equal(third.allowed, false);
  assert.equal(third.hits, 3);
  assert.equal((await hit('auth:addr:uma@example.com')).allowed, true, 'buckets are separate');
  assert.equal((await hit('auth:ip:192.0.2.1')).limit, 100, 'defaults for the other prefixes');
  h.advance(60_001);
  assert.equal((await hit('auth:addr:tia@example.com')).allowed, true, 'a new window');

  for (const bucket of ['nope:ip:192.0.2.1', 'auth:addr', 'auth:addr:']) {
    const res = await webhead.post('hit_rate_limit', { bucket });
    assert.equal(res.status, 400, bucket);
    assert.equal(res.text, 'Bad Request: unknown rate-limit bucket');
  }
});

test('saw_idp and forget_idp keep the idp table', async (t) => {
  const h = await started(t);
  const webhead = h.webhead();
  assert.deepEqual((await webhead.post('saw_idp', { domain: PRIMARY })).json(), { success: true });
  const seen = await h.writer.getIDPLastSeen(PRIMARY);
  assert.ok(seen && Math.abs(seen.getTime() - h.now()) < 2000);
  assert.deepEqual((await webhead.post('forget_idp', { domain: PRIMARY })).json(), { success: true });
  assert.equal(await h.writer.getIDPLastSeen(PRIMARY), undefined);
  assert.equal((await webhead.post('saw_idp', { domain: '-bad-.example' })).status, 400);
});
