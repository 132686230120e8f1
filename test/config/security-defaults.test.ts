/**
 * The security-relevant defaults (issue 19): 10 failed sign-ins an hour lock an account for browsers it
 * never signed in from (issue 10: not for its own, SPEC §4.11), one verification mail per address per 60 s,
 * emailed links live 24 h. Checked where they are declared, then on a dbwriter built from them (the tier
 * harnesses take their values from these defaults; test/tiers/webhead-lockout.test.ts shows the 10 on the
 * real webhead: exactly ten guesses reach the password check, then `account locked`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/load.ts';
import { settings } from '../../src/config/settings.ts';
import { databaseSettings, databaseSettingsFrom } from '../../src/db/write.ts';
import { SITE, startDbwriter } from '../tiers/dbwriter-harness.ts';

const DAY = 86_400_000;

test('declared defaults: 10 failed sign-ins an hour, 60 s between mails, 24 h links, and the database layer agrees', () => {
  const defaults = loadConfig({ env: {} });
  assert.equal(settings.maxAuthAttempts.default, 10);
  assert.equal(defaults.maxAuthAttempts, 10);
  assert.equal(defaults.minTimeBetweenEmailsMs, 60_000);
  assert.equal(defaults.tokenTtlMs, DAY);
  assert.equal(databaseSettingsFrom(defaults).tokenTtlMs, DAY);
  assert.equal(databaseSettings().tokenTtlMs, DAY, "the database layer's own fallback is the same");
});

test('a dbwriter built from the defaults throttles mail to an address for 60 s and honours links for 24 h', async (t) => {
  const h = await startDbwriter();
  t.after(() => h.close());
  // A fresh browser (and address) per call: the per-IP staging limit is another rule.
  let ip = 10;
  const browser = () => {
    const b = h.browser(`198.51.100.${ip++}`);
    b.useSession({}, 28 * DAY, h.now());
    return b;
  };
  const stage = (email: string) =>
    browser().post('stage_user', { email, pass: 'a fine password', site: SITE });

  assert.equal((await stage('eager@example.com')).status, 200);
  // Stored times are whole seconds (rounded down): stay a second clear of the boundary.
  h.advance(58_000);
  assert.equal((await stage('eager@example.com')).status, 429, 'inside the 60 s');
  h.advance(2_000);
  assert.equal((await stage('eager@example.com')).status, 200, 'after the 60 s');

  assert.equal((await stage('kept@example.com')).status, 200);
  assert.equal((await stage('lapsed@example.com')).status, 200);
  const kept = (await h.mailTo('kept@example.com')).token;
  const lapsed = (await h.mailTo('lapsed@example.com')).token;
  const complete = (token: string) =>
    browser().post('complete_user_creation', { token, pass: 'a fine password' });
  h.advance(DAY - 5_000);
  assert.deepEqual((await complete(kept)).json(), { success: true }, 'inside the 24 h');
  h.advance(10_000);
  assert.deepEqual((await complete(lapsed)).json(), { success: false }, 'after the 24 h');
});
