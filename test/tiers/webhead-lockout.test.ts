/**
 * Issue 10, items 2 and 9, on the real webhead with its real dbwriter and database (one test clock for all):
 * strangers guessing from many client addresses cannot keep the owner out (SPEC §4.11), and address_info
 * lookups are limited per client address.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcrypt';
import { DEVICE_COOKIE_NAME } from '../../src/wsapi/device-cookie.ts';
import { COST, PASSWORD, startStack, type Answer, type Browser, type Stack } from './webhead-harness.ts';

const HOUR = 3_600_000;
const LOOKUPS = { limit: 10, windowMs: 600_000 };
let now = Date.now();
let stack: Stack;
before(async () => {
  stack = await startStack({
    now: () => now,
    webhead: { addressInfoLimit: LOOKUPS },
    rateLimits: { 'info:ip': LOOKUPS },
  });
});
after(() => stack.close());

let nextIp = 0;
/** A stranger's browser at a client address of its own (X-Forwarded-For, as the router passes it on). */
const stranger = (): Browser => {
  nextIp++;
  return stack.browser(`10.${(nextIp >> 16) & 255}.${(nextIp >> 8) & 255}.${nextIp & 255}`);
};
const retryAfterMs = (answer: Answer) => Number(answer.headers['retry-after']) * 1000;

/** The owner signs up and signs in once on their own browser, which keeps its device cookie. */
async function ownerWithBrowser(email: string): Promise<{ userid: number; own: Browser }> {
  const userid = await stack.addSecondary(email);
  const own = stack.browser('198.51.100.80');
  const first = await own.signIn(email);
  assert.equal(first.json().success, true);
  const setCookie = [first.headers['set-cookie'] ?? []]
    .flat()
    .find((c) => c.startsWith(`${DEVICE_COOKIE_NAME}=`));
  assert.ok(setCookie, 'a device cookie after a good sign-in');
  assert.match(
    setCookie,
    /; Path=\/wsapi\/authenticate_user; Max-Age=31536000; HttpOnly; SameSite=Lax; Secure$/,
  );
  return { userid, own };
}

test("ten wrong passwords from ten addresses: the owner's browser signs in at once, a new one after the delay", async () => {
  const { userid, own } = await ownerWithBrowser('olive@example.org');
  for (let i = 0; i < 10; i++) {
    const res = await stranger().signIn('olive@example.org', `wrong guess ${i}`);
    assert.equal(res.json().reason, 'password mismatch for user: olive@example.org');
    now += 5 * 60_000; // slower than the growing delays: every guess reaches the password check
  }
  // An unknown browser now meets the original's answer, even with the right password, and when to retry.
  const fresh = stack.browser('198.51.100.81');
  const locked = await fresh.signIn('olive@example.org');
  assert.deepEqual(locked.json(), { success: false, reason: 'account is locked', code: 'account locked' });
  assert.ok(retryAfterMs(locked) > 0 && retryAfterMs(locked) <= HOUR - 45 * 60_000);

  // The browser the owner used before: in at once.
  assert.equal((await own.signIn('olive@example.org')).json().success, true);
  assert.equal((await own.context()).authenticated, true);
  // SPEC §4.7: the next good sign-in there writes nothing (the strangers' failures were cleared once).
  await new Promise((resolve) => setTimeout(resolve, 100));
  const ops = await stack.dbwriterOps();
  assert.equal((await own.signIn('olive@example.org')).json().success, true);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(await stack.dbwriterOps(), ops);

  // The new browser once the hour is over.
  now += retryAfterMs(locked);
  const later = await fresh.signIn('olive@example.org');
  assert.equal(later.json().success, true, later.text);
  assert.equal((await stack.reader.checkAuth(userid))?.failedAuthTries, 0);
});

test('1,000 wrong passwords from 1,000 addresses, 10 at a time: at most 10 checked an hour; the owner is not locked out', async () => {
  const { own } = await ownerWithBrowser('oscar@example.org');
  const statuses: Record<string, number> = {};
  // One guess first: a burst at an account without failures is bounded by bcrypt's admission only.
  assert.equal((await stranger().signIn('oscar@example.org', 'first wrong guess')).json().success, false);
  statuses['password mismatch for user: oscar@example.org'] = 1;
  for (let batch = 0; batch < 100; batch++) {
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        stranger().signIn('oscar@example.org', `wrong guess ${batch}.${i}`),
      ),
    );
    for (const a of answers) {
      const key = a.status === 200 ? String(a.json().code ?? a.json().reason) : String(a.status);
      statuses[key] = (statuses[key] ?? 0) + 1;
      if (a.status === 429) assert.ok(retryAfterMs(a) > 0, 'a refusal says when to retry');
    }
    now += 5_000; // 1,000 guesses over 8 minutes
  }
  assert.equal(statuses['password mismatch for user: oscar@example.org'], 10, JSON.stringify(statuses));
  // The rest refused before bcrypt: delays and guesses in flight (429), then the hour's cap (locked).
  assert.ok((statuses['account locked'] ?? 0) > 0 && (statuses['429'] ?? 0) > 0, JSON.stringify(statuses));
  assert.equal(
    (statuses['password mismatch for user: oscar@example.org'] ?? 0) +
      (statuses['account locked'] ?? 0) +
      (statuses['429'] ?? 0),
    1001,
    JSON.stringify(statuses),
  );

  // A stranger's own device cookie (from signing in to their own account) is no key to this one.
  const mallory = stranger();
  await stack.addSecondary('mallory@example.org');
  assert.equal((await mallory.signIn('mallory@example.org')).json().success, true);
  assert.equal((await mallory.signIn('oscar@example.org', PASSWORD)).json().code, 'account locked');
  // Nor is a tampered one.
  const forged = stranger();
  forged.jar.set(DEVICE_COOKIE_NAME, `${own.jar.get(DEVICE_COOKIE_NAME)?.slice(0, -2) ?? ''}AA`);
  assert.equal((await forged.signIn('oscar@example.org', PASSWORD)).json().code, 'account locked');

  assert.equal((await own.signIn('oscar@example.org')).json().success, true, "the owner's browser at once");
  const fresh = stack.browser('198.51.100.82');
  const locked = await fresh.signIn('oscar@example.org');
  assert.equal(locked.json().code, 'account locked');
  now += retryAfterMs(locked);
  assert.equal(
    (await fresh.signIn('oscar@example.org')).json().success,
    true,
    'a new browser after the delay',
  );
});

test("the owner's own wrong guesses are limited per device, not against the account", async () => {
  const { own } = await ownerWithBrowser('opal@example.org');
  for (let i = 0; i < 5; i++)
    assert.equal((await own.signIn('opal@example.org', `typo number ${i}`)).json().success, false);
  const slowed = await own.signIn('opal@example.org');
  assert.equal(slowed.status, 429);
  assert.equal(slowed.text, 'Too Many Requests: too many sign-in attempts, try again later');
  assert.equal(slowed.headers['retry-after'], '1');
  assert.equal((await stack.browser('198.51.100.83').signIn('opal@example.org')).json().success, true);
  now += 1_000;
  assert.equal((await own.signIn('opal@example.org')).json().success, true);
});

test('the mailed reset lifts the lock for every browser', async () => {
  const { userid } = await ownerWithBrowser('otto@example.org');
  for (let i = 0; i < 10; i++) {
    await stranger().signIn('otto@example.org', `wrong guess ${i}`);
    now += 5 * 60_000;
  }
  const fresh = stack.browser('198.51.100.84');
  assert.equal((await fresh.signIn('otto@example.org')).json().code, 'account locked');
  now += 1_000; // lastPasswordReset counts whole seconds
  await stack.writer.updatePassword(userid, await bcrypt.hash('a brand new password', COST), true);
  assert.equal((await fresh.signIn('otto@example.org', 'a brand new password')).json().success, true);
});

test('address_info: a burst from one client address is limited (429, Retry-After); another address is not', async () => {
  const ip = '192.0.2.77';
  const prober = stack.browser(ip);
  const lookUp = (b: Browser, i: number) => b.get('address_info', { email: `someone${i}@example.org` });
  for (let i = 0; i < LOOKUPS.limit; i++) assert.equal((await lookUp(prober, i)).status, 200);
  // Counted after answering: wait for the counts to land, as a second burst would.
  const until = Date.now() + 3000;
  while ((await stack.reader.rateLimitHits(`info:ip:${ip}`, LOOKUPS.windowMs)) < LOOKUPS.limit) {
    assert.ok(Date.now() < until, 'the lookups were counted');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const refused = await lookUp(prober, 99);
  assert.equal(refused.status, 429);
  assert.equal(refused.text, 'Too Many Requests: too many address lookups, try again later');
  const retry = retryAfterMs(refused);
  assert.ok(retry > 0 && retry <= LOOKUPS.windowMs, String(retry));

  const neighbour = stack.browser('192.0.2.78');
  const answer = await lookUp(neighbour, 1);
  assert.equal(answer.status, 200);
  assert.equal(answer.json().state, 'unknown');

  now += retry;
  assert.equal((await lookUp(prober, 100)).status, 200, 'again once the window is over');
});
