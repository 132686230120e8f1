/**
 * The operations of reference/persona.md §3.1 with the semantics of §3.2, the same on every engine.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { StorageError, type OperationEvent, type Reader, type Writer } from '../../src/db/write.ts';
import { HASH, OTHER_HASH, address, forEachEngine } from './harness.ts';

const HOUR = 3_600_000;

const refusedWith = (code: string) => (err: unknown) => err instanceof StorageError && err.code === code;

await forEachEngine('accounts', (db) => {
  let writer: Writer;
  let reader: Reader;
  // A clock the tests move; both handles read it.
  let now = Date.UTC(2030, 0, 1);
  const clock = () => now;

  before(async () => {
    ({ writer, reader } = await db().open({ clock }));
  });

  async function newAccount(email = address(), hash: string | null = HASH) {
    return writer.completeCreateUser(await writer.stageUser(email, hash));
  }

  test('staging is an upsert per address: a second staging replaces the token', async () => {
    const email = address();
    const first = await writer.stageUser(email, HASH);
    const second = await writer.stageUser(email, HASH);
    assert.match(first, /^[A-Za-z0-9]{48}$/);
    assert.notEqual(first, second);
    assert.equal(await reader.haveVerificationSecret(first), false, 'the old link is dead');
    assert.equal(await reader.haveVerificationSecret(second), true);
    assert.equal(await reader.verificationSecretForEmail(email), second);
    const rows = await db().exec('SELECT COUNT(*) AS n FROM staged WHERE email = ?', [email]);
    assert.equal(Number(rows[0]?.n), 1);
  });

  test('completing a sign-up creates the account with the staged hash and a verified address', async () => {
    const email = address();
    const secret = await writer.stageUser(email, HASH);
    assert.deepEqual(await reader.emailForVerificationSecret(secret), {
      email,
      newAccount: true,
      existingUser: null,
      hasStagedPassword: true,
    });
    const created = await writer.completeCreateUser(secret);
    assert.equal(created.email, email);
    assert.equal(created.lastPasswordReset, Math.floor(now / 1000));
    assert.equal(await reader.emailToUID(email), created.userId);
    assert.deepEqual(await reader.checkAuth(created.userId), { hash: HASH, failedAuthTries: 0 });
    assert.equal(await reader.lastPasswordReset(created.userId), created.lastPasswordReset);
    assert.deepEqual(await reader.emailInfo(email), {
      userId: created.userId,
      normalizedEmail: email,
      lastUsedAs: 'secondary',
      verified: true,
      hasPassword: true,
    });
    assert.equal(await reader.isStaged(email), false, 'the token is consumed');
    await assert.rejects(writer.completeCreateUser(secret), refusedWith('unknown-secret'));
  });

  test('a token of the wrong kind is refused and stays usable for its own operation', async () => {
    const owner = await newAccount();
    const added = address();
    const secret = await writer.stageEmail(owner.userId, added, undefined);
    await assert.rejects(writer.completeCreateUser(secret), refusedWith('wrong-secret-kind'));
    assert.equal(await reader.haveVerificationSecret(secret), true);
    assert.deepEqual(await writer.completeConfirmEmail(secret), { email: added, userId: owner.userId });
    assert.deepEqual(await reader.listEmails(owner.userId), [owner.email, added]);
  });

  test('one address belongs to one account: confirming it elsewhere moves it', async () => {
    const a = await newAccount();
    const b = await newAccount();
    const secret = await writer.stageEmail(b.userId, a.email, undefined);
    await writer.completeConfirmEmail(secret);
    assert.equal(await reader.emailToUID(a.email), b.userId);
    assert.deepEqual(await reader.listEmails(a.userId), []);
    assert.deepEqual(await reader.listEmails(b.userId), [b.email, a.email]);
    assert.equal(await reader.emailsBelongToSameAccount(a.email, b.email), true);
    assert.equal(await reader.userOwnsEmail(a.userId, a.email), false);
    const rows = await db().exec('SELECT COUNT(*) AS n FROM email WHERE address = ?', [a.email]);
    assert.equal(Number(rows[0]?.n), 1);
  });

  test('adding an address with a staged password sets it (primary-only accounts choose one)', async () => {
    const primary = address('primary');
    const { userId } = await writer.createUserWithPrimaryEmail(primary);
    assert.deepEqual(await reader.checkAuth(userId), { hash: null, failedAuthTries: 0 });
    assert.equal((await reader.emailInfo(primary))?.hasPassword, false);
    const secondary = address();
    const secret = await writer.stageEmail(userId, secondary, HASH);
    assert.deepEqual(await reader.authForVerificationSecret(secret), { hash: HASH, userId, staged: true });
    await writer.completeConfirmEmail(secret);
    assert.equal((await reader.checkAuth(userId))?.hash, HASH);
    assert.equal(await reader.emailType(primary), 'primary');
    assert.equal(await reader.emailType(secondary), 'secondary');
  });

  test('stageEmail: a hash sets the staged password, null clears it, undefined keeps it', async () => {
    const owner = await newAccount();
    const email = address();
    const s1 = await writer.stageEmail(owner.userId, email, HASH);
    const s2 = await writer.stageEmail(owner.userId, email, undefined);
    assert.deepEqual(await reader.authForVerificationSecret(s2), {
      hash: HASH,
      userId: owner.userId,
      staged: true,
    });
    assert.equal(await reader.haveVerificationSecret(s1), false);
    const s3 = await writer.stageEmail(owner.userId, email, OTHER_HASH);
    assert.equal((await reader.authForVerificationSecret(s3))?.hash, OTHER_HASH);
    const s4 = await writer.stageEmail(owner.userId, email, null);
    // No staged hash: a password proof is checked against the account's own.
    assert.deepEqual(await reader.authForVerificationSecret(s4), {
      hash: HASH,
      userId: owner.userId,
      staged: false,
    });
  });

  test('completing a password reset: other secondaries unverified, new hash, sessions ended', async () => {
    const owner = await newAccount();
    const other = address('other');
    const primary = address('primary');
    await writer.completeConfirmEmail(await writer.stageEmail(owner.userId, other, undefined));
    await writer.addPrimaryEmailToAccount(owner.userId, primary);
    await writer.incAuthFailures(owner.userId);
    now += 10_000;
    const secret = await writer.stageEmail(owner.userId, owner.email, null);
    assert.deepEqual(await reader.authForVerificationSecret(secret), {
      hash: HASH,
      userId: owner.userId,
      staged: false,
    });
    const reset = await writer.completePasswordReset(secret, OTHER_HASH);
    assert.equal(reset.userId, owner.userId);
    assert.equal(reset.lastPasswordReset, Math.floor(now / 1000));
    assert.ok(reset.lastPasswordReset > owner.lastPasswordReset);
    assert.equal(await reader.lastPasswordReset(owner.userId), reset.lastPasswordReset);
    assert.deepEqual(await reader.checkAuth(owner.userId), { hash: OTHER_HASH, failedAuthTries: 0 });
    assert.equal(await reader.emailIsVerified(owner.email), true);
    assert.equal(await reader.emailIsVerified(other), false, 'the other secondary must be re-verified');
    assert.equal(await reader.emailIsVerified(primary), true, 'primaries are vouched for by their IdP');
    // Re-verification (stage_reverify → complete_email_confirmation) restores it.
    await writer.completeConfirmEmail(await writer.stageEmail(owner.userId, other, undefined));
    assert.equal(await reader.emailIsVerified(other), true);
  });

  test('a reset refuses when the address moved to another account meanwhile', async () => {
    const a = await newAccount();
    const b = await newAccount();
    const reset = await writer.stageEmail(a.userId, a.email, null);
    await writer.completeConfirmEmail(await writer.stageEmail(b.userId, a.email, undefined));
    // Re-staging replaced the reset token; stage one for a again to reach the consistency check.
    const again = await writer.stageEmail(a.userId, a.email, null);
    assert.equal(await reader.haveVerificationSecret(reset), false);
    await assert.rejects(writer.completePasswordReset(again, OTHER_HASH), refusedWith('data-inconsistency'));
    assert.equal((await reader.checkAuth(a.userId))?.hash, HASH, 'nothing changed');
    assert.equal(await reader.haveVerificationSecret(again), true, 'the refusal rolled back');
  });

  test('a transition completes with the hash staged at its start', async () => {
    const primary = address('primary');
    const { userId } = await writer.createUserWithPrimaryEmail(primary);
    const secret = await writer.stageEmail(userId, primary, HASH);
    const done = await writer.completePasswordReset(secret);
    assert.equal(done.userId, userId);
    assert.equal((await reader.checkAuth(userId))?.hash, HASH);
    assert.equal(await reader.emailType(primary), 'secondary');
    // A reset token without any hash to set is not a reset.
    const bare = await writer.stageEmail(userId, primary, null);
    await assert.rejects(writer.completePasswordReset(bare), refusedWith('wrong-secret-kind'));
  });

  test('cancelling removes the emails, the staged rows and the user, and nothing else', async () => {
    const doomed = await newAccount();
    const bystander = await newAccount();
    const pending = await writer.stageEmail(doomed.userId, address(), undefined);
    assert.equal(await writer.cancelAccount(doomed.userId), true);
    assert.equal(await reader.userKnown(doomed.userId), false);
    assert.equal(await reader.emailKnown(doomed.email), false);
    assert.equal(await reader.haveVerificationSecret(pending), false);
    assert.equal(await reader.userKnown(bystander.userId), true);
    assert.equal(await reader.emailToUID(bystander.email), bystander.userId);
    assert.equal(await writer.cancelAccount(doomed.userId), false);
  });

  test('email lookups ignore case; the address keeps the case it was given', async () => {
    const email = `Mixed.Case.${Date.now()}@Example.COM`;
    const created = await newAccount(email);
    for (const variant of [email.toLowerCase(), email.toUpperCase()]) {
      assert.equal(await reader.emailToUID(variant), created.userId, variant);
      assert.equal(await reader.emailKnown(variant), true);
      assert.equal(await reader.userOwnsEmail(created.userId, variant), true);
    }
    assert.equal((await reader.emailInfo(email.toLowerCase()))?.normalizedEmail, email);
    // One pending verification per address, whatever its case.
    const s1 = await writer.stageEmail(created.userId, email.toLowerCase(), undefined);
    const s2 = await writer.stageEmail(created.userId, email.toUpperCase(), undefined);
    assert.equal(await reader.haveVerificationSecret(s1), false);
    assert.equal(await reader.verificationSecretForEmail(email), s2);
    // Confirming under another case replaces the row rather than adding a second one.
    await writer.completeConfirmEmail(s2);
    assert.deepEqual(await reader.listEmails(created.userId), [email.toUpperCase()]);
  });

  test('failed sign-ins count up, and clear on request or on a password update', async () => {
    const { userId } = await newAccount();
    for (let i = 0; i < 3; i++) await writer.incAuthFailures(userId);
    assert.equal((await reader.checkAuth(userId))?.failedAuthTries, 3);
    await writer.clearAuthFailures(userId);
    assert.equal((await reader.checkAuth(userId))?.failedAuthTries, 0);
    await writer.incAuthFailures(userId);
    const before = await reader.lastPasswordReset(userId);
    assert.equal(await writer.updatePassword(userId, OTHER_HASH, false), undefined);
    assert.deepEqual(await reader.checkAuth(userId), { hash: OTHER_HASH, failedAuthTries: 0 });
    assert.equal(await reader.lastPasswordReset(userId), before, 'not bumped without invalidation');
    now += 5_000;
    const bumped = await writer.updatePassword(userId, HASH, true);
    assert.equal(bumped, Math.floor(now / 1000));
    assert.equal(await reader.lastPasswordReset(userId), bumped);
    // A second change within the same second still moves it, so sessions made in between end too.
    const again = await writer.updatePassword(userId, OTHER_HASH, true);
    assert.equal(again, (bumped ?? 0) + 1);
    await assert.rejects(writer.updatePassword(999_999_999, HASH, true), refusedWith('no-such-user'));
  });

  test('idp last-seen times: recorded, moved forward, forgotten; domains ignore case', async () => {
    const domain = `idp-${Date.now()}.example.org`;
    assert.equal(await reader.getIDPLastSeen(domain), undefined);
    await writer.updateIDPLastSeen(domain);
    assert.equal((await reader.getIDPLastSeen(domain))?.getTime(), Math.floor(now / 1000) * 1000);
    now += 60_000;
    await writer.updateIDPLastSeen(domain.toUpperCase());
    assert.equal((await reader.getIDPLastSeen(domain))?.getTime(), Math.floor(now / 1000) * 1000);
    const rows = await db().exec('SELECT COUNT(*) AS n FROM idp WHERE domain = ?', [domain]);
    assert.equal(Number(rows[0]?.n), 1);
    await writer.forgetIDP(domain);
    assert.equal(await reader.getIDPLastSeen(domain), undefined);
  });

  test('tokens expire after 24 h by default: an expired token is an unknown one', async () => {
    const email = address();
    const issued = now;
    const secret = await writer.stageUser(email, HASH);
    assert.equal((await reader.lastStaged(email))?.getTime(), Math.floor(issued / 1000) * 1000);
    now = issued + 24 * HOUR - 1000;
    assert.equal(await reader.haveVerificationSecret(secret), true, 'still valid a second before');
    now = issued + 24 * HOUR + 1000;
    assert.equal(await reader.haveVerificationSecret(secret), false);
    assert.equal(await reader.emailForVerificationSecret(secret), undefined);
    assert.equal(await reader.authForVerificationSecret(secret), undefined);
    assert.equal(await reader.isStaged(email), false);
    assert.equal(await reader.lastStaged(email), undefined);
    assert.equal(await reader.verificationSecretForEmail(email), undefined);
    await assert.rejects(writer.completeCreateUser(secret), refusedWith('unknown-secret'));
    assert.equal(await reader.emailKnown(email), false);
    // Purging removes it for good; restaging works as for a new address.
    assert.ok((await writer.purgeExpiredTokens()) >= 1);
    const rows = await db().exec('SELECT COUNT(*) AS n FROM staged WHERE email = ?', [email]);
    assert.equal(Number(rows[0]?.n), 0);
    const fresh = await writer.stageUser(email, HASH);
    assert.equal((await writer.completeCreateUser(fresh)).email, email);
  });

  test('the token lifetime is configurable', async () => {
    const { writer: w, reader: r } = await db().open({ clock, tokenTtlMs: 60_000 });
    const secret = await w.stageUser(address(), HASH);
    now += 61_000;
    assert.equal(await r.haveVerificationSecret(secret), false);
    assert.equal(await reader.haveVerificationSecret(secret), true, 'the 24 h handle still accepts it');
  });

  test('unverified sign-up: the account at once, its address unverified until confirmed', async () => {
    const email = address();
    const { userId, secret } = await writer.createUnverifiedUser(email, HASH);
    assert.equal(await reader.emailIsVerified(email), false);
    assert.equal(await reader.emailToUID(email), userId);
    await assert.rejects(writer.createUnverifiedUser(email, HASH), refusedWith('address-in-use'));
    await writer.completeConfirmEmail(secret);
    assert.equal(await reader.emailIsVerified(email), true);
  });

  test('primary sign-in of a known address returns its account instead of a second one', async () => {
    const email = address('primary');
    const first = await writer.createUserWithPrimaryEmail(email);
    const again = await writer.createUserWithPrimaryEmail(email.toUpperCase());
    assert.equal(first.created, true);
    assert.deepEqual(again, {
      userId: first.userId,
      lastPasswordReset: first.lastPasswordReset,
      created: false,
    });
  });

  test('lastUsedAs, removal by the owner only', async () => {
    const a = await newAccount();
    const b = await newAccount();
    assert.equal(await writer.updateEmailLastUsedAs(a.email, 'primary'), true);
    assert.equal(await reader.emailLastUsedAs(a.email), 'primary');
    assert.equal(await writer.updateEmailLastUsedAs(address(), 'primary'), false);
    await assert.rejects(writer.removeEmail(b.userId, a.email), refusedWith('not-owner'));
    assert.equal(await reader.emailKnown(a.email), true);
    await writer.removeEmail(a.userId, a.email);
    assert.equal(await reader.emailKnown(a.email), false);
  });

  test('writes naming a missing user are refused as such', async () => {
    await assert.rejects(writer.stageEmail(999_999_999, address(), undefined), refusedWith('no-such-user'));
    await assert.rejects(
      writer.addPrimaryEmailToAccount(999_999_999, address()),
      refusedWith('no-such-user'),
    );
    assert.equal(await reader.checkAuth(999_999_999), undefined);
    assert.deepEqual(await reader.listEmails(999_999_999), []);
  });

  test('rate-limit counters: fixed windows, shared through the database', async () => {
    const bucket = `ip:203.0.113.${Math.floor(Math.random() * 250)}:${Date.now()}`;
    const limit = { limit: 2, windowMs: 60_000 };
    const start = now;
    assert.deepEqual(await writer.hitRateLimit(bucket, limit), {
      hits: 1,
      allowed: true,
      resetAt: start + 60_000,
    });
    assert.equal((await writer.hitRateLimit(bucket, limit)).allowed, true);
    // Another writer (another instance) sees the same counter.
    const { writer: other } = await db().open({ clock });
    assert.deepEqual(await other.hitRateLimit(bucket, limit), {
      hits: 3,
      allowed: false,
      resetAt: start + 60_000,
    });
    now = start + 60_000;
    assert.deepEqual(await writer.hitRateLimit(bucket, limit), {
      hits: 1,
      allowed: true,
      resetAt: now + 60_000,
    });
    now += 10 * 60_000;
    assert.ok((await writer.pruneRateLimits(5 * 60_000)) >= 1);
  });

  test('every operation reports its timing and outcome to an observer, without its arguments', async () => {
    const events: OperationEvent[] = [];
    const { writer: w, reader: r } = await db().open({ clock, observe: (e) => events.push(e) });
    const email = address();
    await r.emailToUID(email);
    await w.stageUser(email, HASH);
    await assert.rejects(w.completeCreateUser('x'.repeat(48)));
    assert.deepEqual(
      events.map((e) => [e.operation, e.outcome]),
      [
        ['emailToUID', 'ok'],
        ['stageUser', 'ok'],
        ['completeCreateUser', 'refused'],
      ],
    );
    assert.ok(events.every((e) => e.durationMs >= 0 && Object.keys(e).length === 3));
  });

  test('ping answers', async () => {
    await reader.ping();
    await writer.ping();
  });
});
