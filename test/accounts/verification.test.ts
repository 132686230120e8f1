// Completing a mailed link (src/accounts/verification.ts), on a real database, without HTTP.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createVerifications, type Follower, type Verifications } from '../../src/accounts/verification.ts';
import type { Writer } from '../../src/db/write.ts';
import { createPasswordHasher } from '../../src/passwords/index.ts';
import { address, forEachEngine, hashOf } from '../db/harness.ts';

const hasher = createPasswordHasher({ cost: 4 });
const STAGED = 'the staged password';
const NOBODY: Follower = {};

await forEachEngine('completing a verification', (db) => {
  let writer: Writer;
  let verifications: Verifications;
  before(async () => {
    ({ writer } = await db().open());
    verifications = createVerifications(writer, hasher);
  });

  /** An account with a password and a verified address. */
  async function account(password = STAGED) {
    const email = address();
    const { userId } = await writer.completeCreateUser(await writer.stageUser(email, hashOf(password)));
    return { email, userId };
  }

  test('a sign-up completes without a password in the browser that staged it, and once only', async () => {
    const token = await writer.stageUser(address(), hashOf(STAGED));
    const done = await verifications.complete('creation', {
      token,
      pass: undefined,
      follower: { pendingCreation: token },
    });
    assert.equal(done.kind, 'completed');
    assert.ok(
      done.kind === 'completed' && done.lastPasswordReset === (await writer.lastPasswordReset(done.userId)),
    );
    const again = await verifications.complete('creation', {
      token,
      pass: undefined,
      follower: { pendingCreation: token },
    });
    assert.deepEqual(again, { kind: 'unknown-token' });
  });

  test("another browser must prove the staged password: missing is the original's 401 text, wrong a mismatch", async () => {
    const token = await writer.stageUser(address(), hashOf(STAGED));
    assert.deepEqual(await verifications.complete('creation', { token, pass: undefined, follower: NOBODY }), {
      kind: 'password-required',
      reason: 'Provide your password',
    });
    assert.deepEqual(
      await verifications.complete('creation', { token, pass: 'not the password', follower: NOBODY }),
      {
        kind: 'password-mismatch',
      },
    );
    assert.equal(
      (await verifications.complete('creation', { token, pass: STAGED, follower: NOBODY })).kind,
      'completed',
    );
  });

  test("an addition: the staging account signed in with its password is trusted, anyone else proves the account's password", async () => {
    const { userId } = await account();
    const token = await writer.stageEmail(userId, address(), null);
    const byAssertion: Follower = { userid: userId, authLevel: 'assertion', pendingAddition: token };
    assert.deepEqual(
      await verifications.complete('confirmation', { token, pass: undefined, follower: byAssertion }),
      {
        kind: 'password-required',
        reason: 'password required',
      },
    );
    const done = await verifications.complete('confirmation', {
      token,
      pass: undefined,
      follower: { userid: userId, authLevel: 'password' },
    });
    assert.deepEqual(done, {
      kind: 'completed',
      userId,
      lastPasswordReset: await writer.lastPasswordReset(userId),
    });

    const second = await writer.stageEmail(userId, address(), null);
    const proved = await verifications.complete('confirmation', {
      token: second,
      pass: STAGED,
      follower: NOBODY,
    });
    assert.equal(proved.kind, 'completed');
  });

  test('a reset (new flow): the link proves the address and `pass` becomes the password, ending other sessions', async () => {
    const { email, userId } = await account();
    const before = (await writer.lastPasswordReset(userId)) ?? 0;
    const token = await writer.stageEmail(userId, email, null);
    assert.deepEqual(
      await verifications.complete('reset', { token, pass: undefined, follower: { pendingReset: token } }),
      {
        kind: 'password-required',
        reason: 'Provide your password',
      },
    );
    const done = await verifications.complete('reset', { token, pass: 'the new password', follower: NOBODY });
    assert.ok(done.kind === 'completed' && done.lastPasswordReset > before);
    const hash = (await writer.checkAuth(userId))?.hash ?? '';
    assert.equal(await hasher.compare('the new password', hash), true);
  });

  test('a transition: the password staged with it becomes the account’s', async () => {
    const email = address();
    const { userId } = await writer.createUserWithPrimaryEmail(email);
    const token = await writer.stageEmail(userId, email, hashOf('chosen at staging'));
    const done = await verifications.complete('transition', {
      token,
      pass: undefined,
      follower: { pendingReset: token },
    });
    assert.equal(done.kind, 'completed');
    assert.equal(
      await hasher.compare('chosen at staging', (await writer.checkAuth(userId))?.hash ?? ''),
      true,
    );
  });

  test('two completions of one token at once: one completes, the other finds it unknown', async () => {
    const token = await writer.stageUser(address(), hashOf(STAGED));
    const follower = { pendingCreation: token };
    const results = await Promise.all([
      verifications.complete('creation', { token, pass: undefined, follower }),
      verifications.complete('creation', { token, pass: undefined, follower }),
    ]);
    assert.deepEqual(results.map((r) => r.kind).sort(), ['completed', 'unknown-token']);
  });
});
