/**
 * Races (reference/persona.md §3.2 under concurrency): one pending token per address, one account per
 * address, whoever gets there first. In-process races run on separate handles (separate connections on
 * MariaDB); cross-process races run two more writers as child processes, as several dbwriters would.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { StorageError, type Reader, type Writer } from '../../src/db/write.ts';
import { HASH, address, forEachEngine, type TestDatabase } from './harness.ts';

const WORKER = fileURLToPath(new URL('./workers/race.ts', import.meta.url));

function race(
  url: string,
  op: 'stage' | 'create-primary',
  email: string,
  startAt: number,
): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', WORKER, url, op, email, String(startAt), '400'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(JSON.parse(out) as unknown[]);
      else reject(new Error(`race worker exited with ${code}`));
    });
  });
}

async function countRows(
  db: TestDatabase,
  table: 'staged' | 'email',
  column: string,
  value: string,
): Promise<number> {
  return Number((await db.exec(`SELECT COUNT(*) AS n FROM ${table} WHERE ${column} = ?`, [value]))[0]?.n);
}

await forEachEngine('concurrency', (db) => {
  let a: Writer;
  let b: Writer;
  let reader: Reader;

  before(async () => {
    ({ writer: a, reader } = await db().open());
    ({ writer: b } = await db().open());
  });

  test('two stagings of one address at once leave exactly one valid token', async () => {
    for (let round = 0; round < 5; round++) {
      const email = address();
      const secrets = await Promise.all([
        a.stageUser(email, HASH),
        b.stageUser(email, HASH),
        a.stageUser(email, HASH),
        b.stageUser(email, HASH),
      ]);
      assert.equal(new Set(secrets).size, secrets.length, 'every staging issued its own token');
      const valid = [];
      for (const s of secrets) if (await reader.haveVerificationSecret(s)) valid.push(s);
      assert.equal(valid.length, 1);
      assert.equal(await reader.verificationSecretForEmail(email), valid[0]);
      assert.equal(await countRows(db(), 'staged', 'email', email), 1);
    }
  });

  test('completing one token twice at once: one account, one refusal', async () => {
    const email = address();
    const secret = await a.stageUser(email, HASH);
    const outcomes = await Promise.allSettled([a.completeCreateUser(secret), b.completeCreateUser(secret)]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o) => o.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    assert.ok(lost[0]?.status === 'rejected' && lost[0].reason instanceof StorageError);
    assert.equal(lost[0].reason.code, 'unknown-secret');
    assert.equal(await countRows(db(), 'email', 'address', email), 1);
    assert.equal(await reader.emailToUID(email), won[0]?.status === 'fulfilled' ? won[0].value.userId : -1);
  });

  test('account creations racing for one address leave it in exactly one account', async () => {
    const email = address('primary');
    const usersBefore = Number((await db().exec('SELECT COUNT(*) AS n FROM user'))[0]?.n);
    const made = await Promise.all([
      a.createUserWithPrimaryEmail(email),
      b.createUserWithPrimaryEmail(email),
      a.createUserWithPrimaryEmail(email.toUpperCase()),
      b.createUserWithPrimaryEmail(email),
    ]);
    const ids = new Set(made.map((m) => m.userId));
    assert.equal(ids.size, 1, 'every racer got the same account');
    assert.equal(made.filter((m) => m.created).length, 1, 'exactly one created it');
    assert.equal(await countRows(db(), 'email', 'address', email), 1);
    const usersAfter = Number((await db().exec('SELECT COUNT(*) AS n FROM user'))[0]?.n);
    assert.equal(usersAfter - usersBefore, 1, 'the losers left no account behind');
  });

  test('a sign-up completing while a primary sign-in creates the same address: one owner', async () => {
    for (let round = 0; round < 3; round++) {
      const email = address();
      const secret = await a.stageUser(email, HASH);
      const [completed, primary] = await Promise.all([
        a.completeCreateUser(secret),
        b.createUserWithPrimaryEmail(email),
      ]);
      assert.equal(await countRows(db(), 'email', 'address', email), 1);
      const owner = await reader.emailToUID(email);
      assert.ok(owner === completed.userId || owner === primary.userId);
    }
  });

  test('stagings from two processes at once leave exactly one valid token', { timeout: 30_000 }, async () => {
    const email = address('multiproc');
    const startAt = Date.now() + 2500; // both workers are loaded by then
    const results = (
      await Promise.all([race(db().url, 'stage', email, startAt), race(db().url, 'stage', email, startAt)])
    ).flat();
    const errors = results.filter((r) => typeof r !== 'string');
    assert.deepEqual(errors, [], 'no staging failed');
    assert.ok(results.length >= 4, `only ${results.length} stagings ran`);
    const secrets = results as string[];
    assert.equal(new Set(secrets).size, secrets.length);
    const current = await reader.verificationSecretForEmail(email);
    assert.ok(current !== undefined && secrets.includes(current));
    assert.equal(await countRows(db(), 'staged', 'email', email), 1);
    let valid = 0;
    for (const s of secrets) if (await reader.haveVerificationSecret(s)) valid++;
    assert.equal(valid, 1);
  });

  test('account creations from two processes at once: one account', { timeout: 30_000 }, async () => {
    const email = address('multiproc');
    const startAt = Date.now() + 2500;
    const results = (
      await Promise.all([
        race(db().url, 'create-primary', email, startAt),
        race(db().url, 'create-primary', email, startAt),
      ])
    ).flat() as { userId?: number; created?: boolean; error?: string }[];
    assert.deepEqual(
      results.filter((r) => r.error !== undefined),
      [],
    );
    assert.equal(new Set(results.map((r) => r.userId)).size, 1);
    assert.equal(results.filter((r) => r.created === true).length, 1);
    assert.equal(await countRows(db(), 'email', 'address', email), 1);
  });
});
