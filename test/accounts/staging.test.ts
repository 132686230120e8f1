// Staging what a mailed link completes (src/accounts/staging.ts), on a real database, without HTTP.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createStaging, type Stager, type Staging, type StagingLimit } from '../../src/accounts/staging.ts';
import type { Writer } from '../../src/db/write.ts';
import type { MailKind } from '../../src/mail/templates.ts';
import { createPasswordHasher } from '../../src/passwords/index.ts';
import { address, forEachEngine, hashOf } from '../db/harness.ts';

const hasher = createPasswordHasher({ cost: 4 });
const MINUTE = 60_000;
const PASS = 'a fine password';
const SITE = 'https://rp.example.org';

await forEachEngine('staging', (db) => {
  let writer: Writer;
  let staging: Staging;
  let now = Date.UTC(2030, 0, 1);
  const decisions: [StagingLimit, boolean][] = [];
  let ip = 0;

  before(async () => {
    ({ writer } = await db().open({ clock: () => now }));
    staging = createStaging(writer, hasher, {
      minTimeBetweenEmailsMs: MINUTE,
      perIpLimit: { limit: 3, windowMs: 10 * MINUTE },
      onLimit: (limit, allowed) => decisions.push([limit, allowed]),
    });
  });

  /** A browser from its own address (so the per-IP limit is its own), counting its sign-outs. */
  function browser(): Stager & { signedOut: number } {
    const b = {
      clientIp: `192.0.2.${++ip}`,
      now,
      signedOut: 0,
      signOut: () => {
        b.signedOut++;
      },
      outbox: (kind: MailKind, to: string) => ({ mail: { kind, to, site: SITE }, leaseMs: 60_000 }),
    };
    return b;
  }

  async function account(email = address()) {
    return (await writer.completeCreateUser(await writer.stageUser(email, hashOf(PASS)))).userId;
  }

  test('a sign-up signs the browser out, stages a hash of the password, and mails a "new" link', async () => {
    const b = browser();
    const email = address();
    const staged = await staging.stageUser(b, email, PASS, false);
    assert.ok(staged.kind === 'staged');
    assert.deepEqual(
      { ...staged, token: '' },
      { kind: 'staged', token: '', mail: 'new', pending: 'pendingCreation' },
    );
    assert.equal(b.signedOut, 1);
    const auth = await writer.authForVerificationSecret(staged.token);
    assert.equal(await hasher.compare(PASS, auth?.hash ?? ''), true);
  });

  test('one mail per address per minute: the second is limited until a minute after the first', async () => {
    const email = address();
    assert.equal((await staging.stageUser(browser(), email, PASS, false)).kind, 'staged');
    decisions.length = 0;
    const again = await staging.stageUser(browser(), email, PASS, false);
    assert.deepEqual(again, {
      kind: 'limited',
      limit: 'email',
      reason: 'Too many emails sent to that address, try again later.',
      retryAt: Math.floor(now / 1000) * 1000 + MINUTE,
    });
    assert.deepEqual(decisions, [
      ['stage:ip', true],
      ['email', false],
    ]);
    now += MINUTE;
    assert.equal((await staging.stageUser({ ...browser(), now }, email, PASS, false)).kind, 'staged');
  });

  test('the per-IP limit counts every staging from one address, before the address throttle', async () => {
    const b = browser();
    for (let i = 0; i < 3; i++)
      assert.equal((await staging.stageUser(b, address(), PASS, false)).kind, 'staged');
    const fourth = await staging.stageUser(b, address(), PASS, false);
    assert.equal(fourth.kind === 'limited' && fourth.limit, 'stage:ip');
  });

  test('the unverified sign-up: an account now, signed in, its address unverified until the "add" link', async () => {
    const email = address();
    const staged = await staging.stageUser(browser(), email, PASS, true);
    assert.ok(staged.kind === 'staged' && staged.signIn !== undefined);
    assert.equal(staged.mail, 'add');
    assert.equal(staged.pending, 'pendingAddition');
    assert.equal(await writer.emailToUID(email), staged.signIn.userId);
    assert.equal(await writer.emailIsVerified(email), false);
  });

  test('adding an address: a password with the first secondary of a primary-made account, and only then', async () => {
    const withPassword = await account();
    assert.deepEqual(await staging.stageEmail(browser(), withPassword, address(), PASS), {
      kind: 'refused',
      reason: 'a password may not be set at this time',
    });
    const added = await staging.stageEmail(browser(), withPassword, address(), undefined);
    assert.equal(added.kind === 'staged' && added.pending, 'pendingAddition');

    const { userId: primaryOnly } = await writer.createUserWithPrimaryEmail(address());
    assert.deepEqual(await staging.stageEmail(browser(), primaryOnly, address(), undefined), {
      kind: 'refused',
      reason: 'user must choose a password',
    });
    const first = await staging.stageEmail(browser(), primaryOnly, address(), PASS);
    assert.ok(first.kind === 'staged');
    assert.equal((await writer.authForVerificationSecret(first.token))?.staged, true);
  });

  test('a reset: unknown addresses are refused; a known one signs out and stages no password (new flow)', async () => {
    assert.deepEqual(await staging.stageReset(browser(), address()), {
      kind: 'refused',
      reason: 'No such email address.',
    });
    const email = address();
    const userId = await account(email);
    const b = browser();
    const staged = await staging.stageReset(b, email);
    assert.ok(staged.kind === 'staged');
    assert.deepEqual(
      [staged.mail, staged.pending, staged.userId, b.signedOut],
      ['reset', 'pendingReset', userId, 1],
    );
    assert.equal((await writer.authForVerificationSecret(staged.token))?.staged, false);
  });

  test('a transition stages the chosen password for the account of the address', async () => {
    const email = address();
    await writer.createUserWithPrimaryEmail(email);
    const staged = await staging.stageTransition(browser(), email, PASS);
    assert.ok(staged.kind === 'staged' && staged.mail === 'transition' && staged.pending === 'pendingReset');
    assert.equal(
      await hasher.compare(PASS, (await writer.authForVerificationSecret(staged.token))?.hash ?? ''),
      true,
    );
  });

  test('re-verification: only an owned, unverified address, and without the per-address throttle', async () => {
    const email = address();
    const userId = await account(email);
    const other = await account();
    assert.deepEqual(await staging.stageReverify(browser(), other, email), {
      kind: 'refused',
      reason: "you don't control that email address",
    });
    assert.deepEqual(await staging.stageReverify(browser(), userId, email), {
      kind: 'refused',
      reason: 'email is already verified',
    });
    const unverified = address();
    await writer.completeConfirmEmail(await writer.stageEmail(userId, unverified, null));
    await writer.completePasswordReset(await writer.stageEmail(userId, email, null), hashOf(PASS));
    const b = browser();
    assert.equal((await staging.stageReverify(b, userId, unverified)).kind, 'staged');
    const again = await staging.stageReverify(b, userId, unverified);
    assert.equal(again.kind === 'staged' && again.mail, 'reverify');
  });

  // SPEC §4.13 (issue 10 item 5): the mail is written with the staging, so an answered staging has its mail.
  test('each staging queues its mail in its own transaction, leased to its first attempt', async () => {
    const email = address();
    const staged = await staging.stageUser(browser(), email, PASS, false);
    assert.ok(staged.kind === 'staged');
    const mine = async () => (await writer.claimDueMail(1000, 60_000)).find((m) => m.token === staged.token);
    assert.equal(await mine(), undefined, 'the staging request attempts it first');
    now += 60_000;
    const claimed = await mine();
    assert.deepEqual(claimed && { ...claimed, createdAt: 0 }, {
      token: staged.token,
      mail: { kind: 'new', to: email, site: SITE },
      attempts: 2,
      createdAt: 0,
      live: true,
    });
    assert.equal(await mine(), undefined, 'claimed once: another dbwriter does not take it meanwhile');
    await writer.deferMail(staged.token, now);
    assert.equal((await mine())?.attempts, 3);

    // Once the link is used, a queued mail is not worth sending: the drainer is told so.
    await writer.completeCreateUser(staged.token);
    now += 60_000;
    assert.equal((await mine())?.live, false);
    await writer.removeMail(staged.token);
    now += 60_000;
    assert.equal(await mine(), undefined);
  });

  test('a staging that fails or is refused queues no mail', async () => {
    const email = address();
    await account(email);
    const before = await writer.outboxDepth();
    await assert.rejects(staging.stageUser(browser(), email, PASS, true), /address/);
    assert.equal((await writer.outboxDepth()).waiting, before.waiting);
    assert.equal((await staging.stageReset(browser(), address())).kind, 'refused');
    assert.equal((await writer.outboxDepth()).waiting, before.waiting);
  });
});
