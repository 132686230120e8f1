// Signing in with a password and changing it (src/accounts/sign-in.ts, passwords.ts), on a real database.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPasswords, type Passwords } from '../../src/accounts/passwords.ts';
import {
  createSignIn,
  waitBefore,
  type DeviceClaim,
  type SignIn,
  type SignInBackoff,
} from '../../src/accounts/sign-in.ts';
import type { Reader, Writer } from '../../src/db/write.ts';
import { createPasswordHasher } from '../../src/passwords/index.ts';
import { address, forEachEngine, hashOf } from '../db/harness.ts';

const hasher = createPasswordHasher({ cost: 4 });
const PASS = 'a fine password';
const HOUR = 3_600_000;
const BACKOFF: SignInBackoff = {
  account: { limit: 10, windowMs: HOUR, free: 3, delayMs: 2_000 },
  ip: { limit: 100, windowMs: 600_000, free: 20, delayMs: 250 },
  device: { limit: 20, windowMs: HOUR, free: 5, delayMs: 1_000 },
};
const limits: Record<string, SignInBackoff[keyof SignInBackoff]> = {
  'auth:acct': BACKOFF.account,
  'auth:ip': BACKOFF.ip,
  'auth:dev': BACKOFF.device,
};

test('growing delays: free failures, then 1, 2, 4 … delays apart, then the cap until the window ends', () => {
  const b = { limit: 6, windowMs: 100_000, free: 2, delayMs: 1_000 };
  assert.deepEqual(waitBefore(undefined, b, 0), { waitMs: 0, capped: false });
  assert.deepEqual(waitBefore({ hits: 1, windowStart: 0 }, b, 0), { waitMs: 0, capped: false });
  assert.deepEqual(waitBefore({ hits: 2, windowStart: 0 }, b, 0), { waitMs: 1_000, capped: false });
  assert.deepEqual(waitBefore({ hits: 3, windowStart: 0 }, b, 1_000), { waitMs: 2_000, capped: false });
  assert.deepEqual(waitBefore({ hits: 4, windowStart: 0 }, b, 3_000), { waitMs: 4_000, capped: false });
  assert.deepEqual(waitBefore({ hits: 5, windowStart: 0 }, b, 90_000), { waitMs: 0, capped: false });
  assert.deepEqual(waitBefore({ hits: 6, windowStart: 0 }, b, 90_000), { waitMs: 10_000, capped: true });
  assert.deepEqual(waitBefore({ hits: 6, windowStart: 0 }, b, 100_000), { waitMs: 0, capped: false });
});

await forEachEngine('sign-in and passwords', (db) => {
  let writer: Writer;
  let reader: Reader;
  let signIn: SignIn;
  let passwords: Passwords;
  let now = 1_900_000_000_000;
  before(async () => {
    // One clock for both handles: the dbwriter's counters and the webhead's reading of them.
    ({ writer, reader } = await db().open({ clock: () => now }));
    // The sign-in reads through the read-only handle, as the webhead does.
    signIn = createSignIn(reader, hasher, { backoff: BACKOFF });
    passwords = createPasswords(writer, hasher);
  });

  /** An attempt from a browser at `ip`, its failures counted as the dbwriter counts them. */
  const from = (ip: string, device?: DeviceClaim) => ({
    clientIp: ip,
    device,
    now,
    countFailure: async (failure: { count: readonly string[] }) => {
      for (const bucket of failure.count) {
        const limit = limits[bucket.split(':').slice(0, 2).join(':')];
        assert.ok(limit, bucket);
        await writer.hitRateLimit(bucket, limit);
      }
    },
  });
  const stranger = (i: number) => from(`203.0.113.${i % 250}`);

  async function account(hash: string | null = hashOf(PASS)) {
    const email = address();
    const { userId } =
      hash === null
        ? await writer.createUserWithPrimaryEmail(email)
        : await writer.completeCreateUser(await writer.stageUser(email, hash));
    return { email, userId };
  }

  test('unknown address, no password, wrong password: refused with the original reasons', async () => {
    assert.deepEqual(await signIn.withPassword(address(), PASS, from('192.0.2.1')), {
      kind: 'refused',
      outcome: 'unknown',
      reason: 'no such user',
      count: ['auth:ip:192.0.2.1'],
    });
    const primary = await account(null);
    assert.deepEqual(await signIn.withPassword(primary.email, PASS, from('192.0.2.1')), {
      kind: 'refused',
      outcome: 'no_password',
      reason: 'no password set for user',
      userId: primary.userId,
      count: [
        'auth:ip:192.0.2.1',
        `auth:acct:${primary.userId}:${await reader.lastPasswordReset(primary.userId)}`,
      ],
    });
    const { email, userId } = await account();
    assert.deepEqual(await signIn.withPassword(email, 'not the password', from('192.0.2.1')), {
      kind: 'refused',
      outcome: 'mismatch',
      reason: `password mismatch for user: ${email}`,
      userId,
      count: ['auth:ip:192.0.2.1', `auth:acct:${userId}:${await reader.lastPasswordReset(userId)}`],
    });
  });

  test('a clean sign-in asks for no write; failures to clear and an old cost are reported', async () => {
    const { email, userId } = await account();
    assert.deepEqual(await signIn.withPassword(email, PASS, from('192.0.2.2')), {
      kind: 'signed-in',
      userId,
      lastPasswordReset: await reader.lastPasswordReset(userId),
      clearFailures: false,
      rehash: false,
      knownDevice: false,
    });
    await writer.incAuthFailures(userId);
    const cheap = await account();
    const result = await signIn.withPassword(email, PASS, from('192.0.2.2'));
    assert.ok(result.kind === 'signed-in' && result.clearFailures);
    const other = createSignIn(reader, createPasswordHasher({ cost: 5 }), { backoff: BACKOFF });
    const rehash = await other.withPassword(cheap.email, PASS, from('192.0.2.2'));
    assert.ok(rehash.kind === 'signed-in' && rehash.rehash);
  });

  test("strangers from many addresses slow and then lock unknown browsers, never the owner's own browser", async () => {
    const { email, userId } = await account();
    const mine: DeviceClaim = { id: 'a'.repeat(32), userIds: [userId] };
    let mismatches = 0;
    const answers: string[] = [];
    // 1,000 guesses from 250 addresses, one a second: the account takes 10 an hour, 4 at the fastest apart.
    for (let i = 0; i < 1000; i++) {
      const r = await signIn.withPassword(email, `guess ${i}`, stranger(i));
      if (r.kind === 'refused') mismatches++;
      answers.push(r.kind === 'throttled' ? r.outcome : r.kind);
      now += 1_000;
    }
    assert.equal(mismatches, 10, "the hour's ten guesses reached bcrypt, no more");
    // Three back to back, then 2 s, 4 s, 8 s … apart (the window's first at 0 s, these a second apart).
    assert.deepEqual(answers.slice(0, 8), [
      'refused',
      'refused',
      'refused',
      'refused',
      'slowed',
      'slowed',
      'refused',
      'slowed',
    ]);
    assert.ok(answers.includes('locked'));

    // The owner's browser: at once, whatever the strangers did.
    const own = await signIn.withPassword(email, PASS, from('198.51.100.1', mine));
    assert.ok(own.kind === 'signed-in' && own.knownDevice, JSON.stringify(own));
    // A device cookie of another account (a stranger's own) is an unknown browser here.
    const theirs = await signIn.withPassword(
      email,
      PASS,
      from('203.0.113.9', { id: 'b'.repeat(32), userIds: [userId + 1] }),
    );
    assert.equal(theirs.kind, 'throttled');

    // A new browser of the owner's: locked until the hour ends, then in with the right password.
    const locked = await signIn.withPassword(email, PASS, from('198.51.100.2'));
    assert.ok(locked.kind === 'throttled' && locked.outcome === 'locked' && locked.scope === 'account');
    now += locked.retryAfterMs - 1_000;
    assert.equal((await signIn.withPassword(email, PASS, from('198.51.100.2'))).kind, 'throttled');
    now += 1_000;
    const later = await signIn.withPassword(email, PASS, from('198.51.100.2'));
    assert.ok(later.kind === 'signed-in' && !later.knownDevice, JSON.stringify(later));
  });

  test('the mailed reset lifts the lock: a new password starts a new count', async () => {
    const { email, userId } = await account();
    for (let i = 0; i < 10; i++) {
      await signIn.withPassword(email, `guess ${i}`, stranger(i));
      now += 300_000;
    }
    const locked = await signIn.withPassword(email, PASS, from('198.51.100.5'));
    assert.ok(locked.kind === 'throttled' && locked.outcome === 'locked', JSON.stringify(locked));
    now += 1_000; // lastPasswordReset is in whole seconds
    await writer.updatePassword(userId, hashOf('a new password'), true);
    const after = await signIn.withPassword(email, 'a new password', from('198.51.100.5'));
    assert.equal(after.kind, 'signed-in');
  });

  test("a known browser's own wrong guesses are limited on their own, per device", async () => {
    const { email, userId } = await account();
    const device: DeviceClaim = { id: 'c'.repeat(32), userIds: [userId] };
    for (let i = 0; i < 5; i++)
      assert.equal(
        (await signIn.withPassword(email, `typo ${i}`, from('198.51.100.3', device))).kind,
        'refused',
      );
    const slowed = await signIn.withPassword(email, PASS, from('198.51.100.3', device));
    assert.ok(slowed.kind === 'throttled' && slowed.scope === 'device' && slowed.retryAfterMs === 1_000);
    // Its failures are not the account's: another browser is not slowed by them.
    assert.equal((await signIn.withPassword(email, PASS, from('198.51.100.4'))).kind, 'signed-in');
    now += 1_000;
    assert.equal((await signIn.withPassword(email, PASS, from('198.51.100.3', device))).kind, 'signed-in');
  });

  test('concurrent guesses at an account that has failures: one is checked at a time', async () => {
    const { email } = await account();
    // Without failures, simultaneous sign-ins are all checked (the owner's, or a load test's).
    const clean = await Promise.all(
      Array.from({ length: 5 }, (_, i) => signIn.withPassword(email, PASS, stranger(i))),
    );
    assert.deepEqual(
      clean.map((r) => r.kind),
      Array(5).fill('signed-in'),
    );
    assert.equal((await signIn.withPassword(email, 'first wrong guess', stranger(0))).kind, 'refused');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => signIn.withPassword(email, `guess ${i}`, stranger(i))),
    );
    // One failure before, two more back to back allowed; the rest wait for the one being checked or the delay.
    assert.ok(results.filter((r) => r.kind === 'refused').length <= 2, JSON.stringify(results));
    assert.ok(results.some((r) => r.kind === 'throttled'));
    now += HOUR;
  });

  test('changing the password: the old one must match; a real change moves lastPasswordReset, the same one does not', async () => {
    const { userId } = await account();
    assert.deepEqual(await passwords.change(userId, 'not the password', 'another password'), {
      kind: 'refused',
      reason: 'incorrect password',
    });
    assert.deepEqual(await passwords.change(userId, PASS, PASS), {
      kind: 'changed',
      lastPasswordReset: undefined,
    });
    const changed = await passwords.change(userId, PASS, 'another password');
    assert.ok(
      changed.kind === 'changed' && changed.lastPasswordReset === (await writer.lastPasswordReset(userId)),
    );
    assert.deepEqual(await passwords.change((await account(null)).userId, PASS, PASS), {
      kind: 'refused',
      reason: 'no password set for user',
    });
  });

  test('rehashing: only a hash of another cost, only with the current password', async () => {
    const { userId } = await account();
    assert.deepEqual(await passwords.rehash(userId, PASS), { kind: 'current' });
    const costlier = createPasswords(writer, createPasswordHasher({ cost: 5 }));
    assert.deepEqual(await costlier.rehash(userId, 'not the password'), {
      kind: 'refused',
      reason: 'password mismatch',
    });
    assert.deepEqual(await costlier.rehash(userId, PASS), { kind: 'rehashed' });
    assert.match((await writer.checkAuth(userId))?.hash ?? '', /^\$2[aby]\$05\$/);
  });
});
