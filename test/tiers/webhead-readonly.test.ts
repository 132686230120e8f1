/**
 * The webhead's read-only database access, shown at the tier (SPEC §2; issue 19): the handle a webhead is
 * built with serves its reads and refuses a write; what the webhead must record goes through the dbwriter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectionOf } from '../../src/db/read.ts';
import { eventually, startStack } from './webhead-harness.ts';

const refusedByEngine = (err: unknown): boolean => (err as { code?: string }).code === 'SQLITE_READONLY';

test("a write through the webhead's own handle is refused; a failed sign-in is counted by the dbwriter", async (t) => {
  const stack = await startStack();
  t.after(() => stack.close());
  const userid = await stack.addSecondary('ro@example.org');
  const b = stack.browser('198.51.100.61');

  // The handle this webhead was built with answers its reads...
  assert.equal((await b.get('have_email', { email: 'ro@example.org' })).json().email_known, true);
  // ...and cannot touch the lockout counter or the accounts behind the dbwriter's back.
  const db = connectionOf(stack.reader);
  await assert.rejects(
    db.updateTable('user').set({ failedAuthTries: 99 }).where('id', '=', userid).execute(),
    refusedByEngine,
  );
  await assert.rejects(db.deleteFrom('email').execute(), refusedByEngine);
  assert.equal((await b.get('have_email', { email: 'ro@example.org' })).json().email_known, true);

  const before = (await stack.dbwriterOps()).increment_failed_auth_tries ?? 0;
  const failed = await b.signIn('ro@example.org', 'not the password');
  assert.equal(failed.json().reason, 'password mismatch for user: ro@example.org');
  await eventually(async () => (await stack.reader.checkAuth(userid))?.failedAuthTries === 1, 'the count');
  assert.equal((await stack.dbwriterOps()).increment_failed_auth_tries, before + 1);
});
