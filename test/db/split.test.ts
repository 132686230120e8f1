/**
 * The read/write split (SPEC §2, §5): the webhead's handle cannot write, by its type and by its
 * connection; the dbwriter's handle writes and reads its own writes.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DatabaseUnavailableError,
  connectionOf,
  databaseSettings,
  migrateToLatest,
  openReader,
  type Reader,
  type Writer,
} from '../../src/db/write.ts';
import { HASH, address, forEachEngine } from './harness.ts';

const WRITES = [
  'stageUser',
  'stageEmail',
  'completeCreateUser',
  'completeConfirmEmail',
  'completePasswordReset',
  'addPrimaryEmailToAccount',
  'createUserWithPrimaryEmail',
  'createUnverifiedUser',
  'updatePassword',
  'incAuthFailures',
  'clearAuthFailures',
  'updateEmailLastUsedAs',
  'removeEmail',
  'cancelAccount',
  'updateIDPLastSeen',
  'forgetIDP',
  'hitRateLimit',
  'pruneRateLimits',
  'purgeExpiredTokens',
];

// The type refuses writes at compile time: `npm run typecheck` fails if a write appears on Reader.
function typeLevel(reader: Reader): void {
  // @ts-expect-error a Reader has no stageUser
  const _stage: unknown = reader.stageUser;
  // @ts-expect-error a Reader has no completeCreateUser
  const _complete: unknown = reader.completeCreateUser;
  // @ts-expect-error a Reader has no incAuthFailures
  const _fail: unknown = reader.incAuthFailures;
}

const refusedByEngine = (err: unknown): boolean => {
  const { code, errno } = err as { code?: string; errno?: number };
  // SQLite: opened read-only. MariaDB: the session is READ ONLY (1792).
  return code === 'SQLITE_READONLY' || errno === 1792;
};

await forEachEngine('read/write split', (db, engine) => {
  let writer: Writer;
  let reader: Reader;

  before(async () => {
    ({ writer, reader } = await db().open());
  });

  test('the read handle exposes no write operation', () => {
    typeLevel(reader);
    for (const name of WRITES) {
      assert.equal(name in reader, false, name);
      assert.equal(typeof (writer as unknown as Record<string, unknown>)[name], 'function', name);
    }
    assert.throws(
      () => {
        (reader as unknown as Record<string, unknown>).stageUser = () => undefined;
      },
      TypeError,
      'the handle is frozen',
    );
  });

  test("a write through the read handle's own connection fails, and nothing is written", async () => {
    const kysely = connectionOf(reader);
    const email = address();
    const attempts = [
      () => kysely.insertInto('user').values({ passwd: HASH }).execute(),
      () => kysely.updateTable('user').set({ failedAuthTries: 99 }).execute(),
      () => kysely.deleteFrom('email').execute(),
      () => sql`INSERT INTO idp (domain) VALUES (${'evil.example'})`.execute(kysely),
      () => sql`CREATE TABLE sneaky (a INT)`.execute(kysely),
    ];
    const { userId } = await writer.completeCreateUser(await writer.stageUser(email, HASH));
    for (const attempt of attempts) await assert.rejects(attempt(), refusedByEngine);
    // Several at once: every pooled connection of the reader is read-only, not just the first.
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () =>
        kysely
          .insertInto('idp')
          .values({ domain: `x${Math.random()}.example` })
          .execute(),
      ),
    );
    assert.ok(results.every((r) => r.status === 'rejected' && refusedByEngine(r.reason)));
    assert.equal((await reader.checkAuth(userId))?.failedAuthTries, 0);
    assert.equal(await reader.emailKnown(email), true);
    assert.equal(Number((await db().exec("SELECT COUNT(*) AS n FROM idp WHERE domain LIKE 'x%'"))[0]?.n), 0);
    // The same connection still reads.
    assert.equal(await reader.emailToUID(email), userId);
  });

  test('the write handle writes through its connection, and the read handle sees it', async () => {
    const email = address();
    const secret = await writer.stageUser(email, HASH);
    assert.equal(await reader.haveVerificationSecret(secret), true);
    const { userId } = await writer.completeCreateUser(secret);
    assert.equal(await writer.emailToUID(email), userId, 'the writer reads its own writes');
    assert.equal(await reader.emailToUID(email), userId);
  });

  if (engine === 'sqlite')
    test('a reader opened before the SQLite file exists answers once the writer has made it', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'persona-db-'));
      try {
        const settings = databaseSettings({ url: `sqlite:${join(dir, 'later.sqlite')}` });
        const early = openReader(settings);
        await assert.rejects(early.emailToUID(address()), DatabaseUnavailableError);
        assert.deepEqual(await migrateToLatest(settings.write), [
          '0001-original-schema',
          '0002-staged-ts-index',
          '0003-rate-limit',
          '0005-mail-outbox',
          '0006-revoked-session',
        ]);
        assert.equal(await early.emailToUID(address()), undefined);
        await early.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
});
