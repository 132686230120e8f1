// Signing in with a password and changing it (src/accounts/sign-in.ts, passwords.ts), on a real database.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPasswords, type Passwords } from '../../src/accounts/passwords.ts';
import { createSignIn, type SignIn } from '../../src/accounts/sign-in.ts';
import type { Reader, Writer } from '../../src/db/write.ts';
import { createPasswordHasher } from '../../src/passwords/index.ts';
import { address, forEachEngine, hashOf } from '../db/harness.ts';

const hasher = createPasswordHasher({ cost: 4 });
const PASS = 'a fine password';

await forEachEngine('sign-in and passwords', (db) => {
  let writer: Writer;
  let reader: Reader;
  let signIn: SignIn;
  let passwords: Passwords;
  before(async () => {
    ({ writer, reader } = await db().open());
    // The sign-in reads through the read-only handle, as the webhead does.
    signIn = createSignIn(reader, hasher, { maxAuthAttempts: 3 });
    passwords = createPasswords(writer, hasher);
  });

  async function account(hash: string | null = hashOf(PASS)) {
    const email = address();
    const { userId } =
      hash === null
        ? await writer.createUserWithPrimaryEmail(email)
        : await writer.completeCreateUser(await writer.stageUser(email, hash));
    return { email, userId };
  }

  test('unknown address, no password, wrong password: refused with the original reasons', async () => {
    assert.deepEqual(await signIn.withPassword(address(), PASS), {
      kind: 'refused',
      outcome: 'unknown',
      reason: 'no such user',
    });
    const primary = await account(null);
    assert.deepEqual(await signIn.withPassword(primary.email, PASS), {
      kind: 'refused',
      outcome: 'no_password',
      reason: 'no password set for user',
      userId: primary.userId,
    });
    const { email, userId } = await account();
    assert.deepEqual(await signIn.withPassword(email, 'not the password'), {
      kind: 'refused',
      outcome: 'mismatch',
      reason: `password mismatch for user: ${email}`,
      userId,
    });
  });

  test('a clean sign-in asks for no write; failures to clear and an old cost are reported', async () => {
    const { email, userId } = await account();
    assert.deepEqual(await signIn.withPassword(email, PASS), {
      kind: 'signed-in',
      userId,
      lastPasswordReset: await reader.lastPasswordReset(userId),
      clearFailures: false,
      rehash: false,
    });
    await writer.incAuthFailures(userId);
    const cheap = await account();
    const result = await signIn.withPassword(email, PASS);
    assert.ok(result.kind === 'signed-in' && result.clearFailures);
    const other = createSignIn(reader, createPasswordHasher({ cost: 5 }), { maxAuthAttempts: 3 });
    const rehash = await other.withPassword(cheap.email, PASS);
    assert.ok(rehash.kind === 'signed-in' && rehash.rehash);
  });

  test('locked after the maximum failures, whatever the password', async () => {
    const { email, userId } = await account();
    for (let i = 0; i < 3; i++) await writer.incAuthFailures(userId);
    assert.deepEqual(await signIn.withPassword(email, PASS), {
      kind: 'refused',
      outcome: 'locked',
      reason: 'account is locked',
      code: 'account locked',
      userId,
    });
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
