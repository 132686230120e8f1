/**
 * Bad input, the same on both engines: overlong and non-ASCII addresses are refused cleanly (never
 * truncated, never stored), SQL metacharacters that are legal in addresses are stored and matched
 * literally, and everything else is refused before it reaches SQL. Below the layer, the tables themselves
 * refuse overlong values (MySQL strict mode, SQLite CHECKs).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { StorageError, connectionOf, type Reader, type Writer } from '../../src/db/write.ts';
import { HASH, forEachEngine } from './harness.ts';

const invalid = (err: unknown) => err instanceof StorageError && err.code === 'invalid-input';

const longest = `${'l'.repeat(64)}@${'d'.repeat(63)}.${'e'.repeat(63)}.${'f'.repeat(57)}.com`; // 254
const REFUSED_ADDRESSES = [
  `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`, // 259 characters
  `${'x'.repeat(300)}@example.com`,
  'josé@example.com',
  'user@exämple.com',
  'пользователь@пример.рф',
  'a\u0000b@example.com',
  'emoji😀@example.com',
  "x'; DROP TABLE user; --@example.com",
  '"quoted"@example.com',
  'a b@example.com',
  'back\\slash@example.com',
  '',
];
// Legal in an address, special in SQL or LIKE: must be stored and compared literally.
const LITERAL_ADDRESSES = [
  "o'brien@example.com",
  "it''s@example.com",
  'percent%sign@example.com',
  'under_score@example.com',
  'star*/slash@example.com',
  'dash--dash@example.com',
  'semi=colon?@example.com',
  '{curly}|pipe`tick@example.com',
];

await forEachEngine('bad input', (db) => {
  let writer: Writer;
  let reader: Reader;

  before(async () => {
    ({ writer, reader } = await db().open());
  });

  test('refused addresses: a clean StorageError on write, "not found" on read, nothing stored', async () => {
    const { userId } = await writer.completeCreateUser(
      await writer.stageUser(`owner.${Date.now()}@example.com`, HASH),
    );
    const before = await db().exec('SELECT COUNT(*) AS n FROM staged');
    for (const email of REFUSED_ADDRESSES) {
      await assert.rejects(writer.stageUser(email, HASH), invalid, JSON.stringify(email));
      await assert.rejects(writer.stageEmail(userId, email, undefined), invalid);
      await assert.rejects(writer.createUserWithPrimaryEmail(email), invalid);
      await assert.rejects(writer.addPrimaryEmailToAccount(userId, email), invalid);
      assert.equal(await reader.emailKnown(email), false);
      assert.equal(await reader.emailToUID(email), undefined);
      assert.equal(await reader.emailInfo(email), undefined);
      assert.equal(await reader.isStaged(email), false);
    }
    assert.deepEqual(await db().exec('SELECT COUNT(*) AS n FROM staged'), before);
    assert.equal(
      (await db().exec('SELECT COUNT(*) AS n FROM user')).length,
      1,
      'the user table is still there',
    );
  });

  test('the longest legal address (254) round-trips unchanged', async () => {
    assert.equal(longest.length, 254);
    const { userId } = await writer.completeCreateUser(await writer.stageUser(longest, HASH));
    assert.deepEqual(await reader.listEmails(userId), [longest]);
    assert.equal(await reader.emailToUID(longest.toUpperCase()), userId);
  });

  test('SQL metacharacters legal in addresses are stored and matched literally', async () => {
    const ids = new Map<string, number>();
    for (const email of LITERAL_ADDRESSES) {
      const { userId } = await writer.completeCreateUser(await writer.stageUser(email, HASH));
      ids.set(email, userId);
    }
    for (const email of LITERAL_ADDRESSES) {
      assert.equal(await reader.emailToUID(email), ids.get(email), email);
      assert.equal((await reader.emailInfo(email))?.normalizedEmail, email);
    }
    // % and _ are not wildcards: similar addresses that were never stored are unknown.
    for (const lookalike of ['percentXsign@example.com', 'underXscore@example.com', "o'brieN@example.co"])
      assert.equal(await reader.emailKnown(lookalike), false, lookalike);
    assert.equal(await reader.emailsBelongToSameAccount("o'brien@example.com", "it''s@example.com"), false);
  });

  test('secrets, domains, hashes, ids and buckets outside their forms are refused or unknown', async () => {
    for (const secret of ["' OR '1'='1", `${'a'.repeat(47)}'`, 'a'.repeat(49), 'é'.repeat(48), '']) {
      assert.equal(await reader.haveVerificationSecret(secret), false);
      assert.equal(await reader.emailForVerificationSecret(secret), undefined);
      await assert.rejects(writer.completeCreateUser(secret), { code: 'unknown-secret' });
    }
    for (const domain of ["example.com'; --", 'exämple.com', `${'a'.repeat(64)}.com`, '']) {
      await assert.rejects(writer.updateIDPLastSeen(domain), invalid, domain);
      assert.equal(await reader.getIDPLastSeen(domain), undefined);
    }
    for (const hash of ['plain text password', `${HASH}x`, HASH.replace('$2a$', '$1$'), 'ä'.repeat(60)])
      await assert.rejects(writer.stageUser(`h.${Date.now()}@example.com`, hash), invalid);
    for (const id of [0, -1, 1.5, Number.NaN, 2 ** 60]) {
      await assert.rejects(writer.incAuthFailures(id), invalid, String(id));
      assert.equal(await reader.checkAuth(id), undefined);
    }
    for (const bucket of ['', 'with space', 'ü', 'x'.repeat(321)])
      await assert.rejects(writer.hitRateLimit(bucket, { limit: 1, windowMs: 1000 }), invalid);
    await assert.rejects(
      writer.updateEmailLastUsedAs("o'brien@example.com", 'tertiary' as 'primary'),
      invalid,
    );
  });

  test('beneath the layer, the tables refuse overlong values instead of truncating them', async () => {
    // Straight through the writer's connection (our session settings), past the layer's validation.
    const kysely = connectionOf(writer);
    const [{ id } = { id: 0 }] = await db().exec('SELECT MIN(id) AS id FROM user');
    const long = `${'z'.repeat(300)}@example.com`;
    await assert.rejects(
      kysely
        .insertInto('email')
        .values({ user: Number(id), address: long })
        .execute(),
    );
    await assert.rejects(
      kysely
        .insertInto('idp')
        .values({ domain: 'd'.repeat(256) })
        .execute(),
    );
    await assert.rejects(
      kysely
        .insertInto('user')
        .values({ passwd: 'p'.repeat(65) })
        .execute(),
    );
    const stored = await db().exec('SELECT COUNT(*) AS n FROM email WHERE address LIKE ?', ['zzzz%']);
    assert.equal(Number(stored[0]?.n), 0);
  });
});
