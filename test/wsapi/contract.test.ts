/**
 * One contract per op (src/wsapi/catalogue.ts): every op is driven through the real tiers to a 200, and
 * the tier clients check each answer against its declaration (test/helpers/contract.ts), so a changed
 * field, type or content type fails here. The last test shows every op of the catalogue was reached.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeypair } from '../../src/browserid/index.ts';
import { operations } from '../../src/wsapi/catalogue.ts';
import { checkWsapiAnswer, ContractError, observed } from '../helpers/contract.ts';
import { PRIMARY, startDbwriter } from '../tiers/dbwriter-harness.ts';
import { PASSWORD, startStack } from '../tiers/webhead-harness.ts';

const SITE = 'https://rp.example.org';
const NEW_PASSWORD = 'another fine password';

const stacks: { close(): Promise<void> }[] = [];
after(async () => {
  await Promise.all(stacks.map((s) => s.close()));
});

/** Asserts a 200 (its shape is checked by the harness's client). */
function ok(res: { status: number; text: string }, what: string): void {
  assert.equal(res.status, 200, `${what}: ${res.text}`);
}

test('the browser-facing ops, through the webhead and the dbwriter', async () => {
  const stack = await startStack();
  stacks.push(stack);
  const mailTo = (to: string) => {
    const mail = stack.mails.findLast((m) => m.to === to);
    assert.ok(mail, `a mail to ${to}`);
    return mail.token;
  };

  const b = stack.browser('198.51.100.40');
  await b.context();
  ok(await b.get('ping'), 'ping');
  ok(await b.post('interaction_data', { data: [{}] }), 'interaction_data');
  ok(await b.get('address_info', { email: 'new@example.org' }), 'address_info');
  ok(await b.get('have_email', { email: 'new@example.org' }), 'have_email');
  ok(await b.get('email_for_token', { token: 'x'.repeat(48) }), 'email_for_token, unknown');

  // Sign-up: staged, polled, completed from the mail.
  ok(await b.post('stage_user', { email: 'new@example.org', pass: PASSWORD, site: SITE }), 'stage_user');
  ok(await b.get('user_creation_status', { email: 'new@example.org' }), 'user_creation_status');
  const signup = mailTo('new@example.org');
  ok(await b.get('email_for_token', { token: signup }), 'email_for_token');
  ok(await b.post('complete_user_creation', { token: signup }), 'complete_user_creation');
  ok(await b.post('complete_user_creation', { token: signup }), 'complete_user_creation, used token');

  // Signed in with the password.
  ok(await b.signIn('new@example.org', 'not the password'), 'authenticate_user, refused');
  ok(await b.signIn('new@example.org'), 'authenticate_user');
  ok(await b.get('list_emails'), 'list_emails');
  const pubkey = JSON.stringify(generateKeypair('RS256').publicKey.json);
  ok(await b.post('cert_key', { email: 'new@example.org', pubkey, ephemeral: false }), 'cert_key');
  ok(await b.post('prolong_session'), 'prolong_session');

  // Another address: staged, polled, confirmed.
  ok(await b.post('stage_email', { email: 'second@example.org', site: SITE }), 'stage_email');
  ok(await b.get('email_addition_status', { email: 'second@example.org' }), 'email_addition_status');
  const addition = mailTo('second@example.org');
  ok(await b.post('complete_email_confirmation', { token: addition }), 'complete_email_confirmation');
  ok(await b.get('email_reverify_status', { email: 'second@example.org' }), 'email_reverify_status');
  ok(await b.post('stage_reverify', { email: 'second@example.org', site: SITE }), 'stage_reverify');
  ok(await b.post('update_password', { oldpass: PASSWORD, newpass: NEW_PASSWORD }), 'update_password');
  ok(await b.post('remove_email', { email: 'second@example.org' }), 'remove_email');
  ok(
    await b.post('auth_with_assertion', { assertion: 'a'.repeat(60), ephemeral: false }),
    'auth_with_assertion, refused',
  );
  ok(await b.post('logout'), 'logout');

  // Forgot password: staged, polled, completed with the new password.
  ok(await b.post('stage_reset', { email: 'new@example.org', site: SITE }), 'stage_reset');
  ok(await b.get('password_reset_status', { email: 'new@example.org' }), 'password_reset_status');
  ok(await b.post('complete_reset', { token: mailTo('new@example.org'), pass: PASSWORD }), 'complete_reset');

  // A transition to a password for an account made through a primary.
  await stack.addPrimary('prim@example.org');
  const c = stack.browser('198.51.100.41');
  await c.context();
  ok(
    await c.post('stage_transition', { email: 'prim@example.org', pass: PASSWORD, site: SITE }),
    'stage_transition',
  );
  ok(await c.get('transition_status', { email: 'prim@example.org' }), 'transition_status');
  ok(await c.post('complete_transition', { token: mailTo('prim@example.org') }), 'complete_transition');
  ok(await c.post('account_cancel'), 'account_cancel');
});

test('the ops that need a primary, and the internal ops the webhead calls', async () => {
  const h = await startDbwriter();
  stacks.push(h);
  const userid = await h.account('lee@example.com', 'lee password');
  await h.writer.addPrimaryEmailToAccount(userid, `lee@${PRIMARY}`);
  const b = h.browser();
  b.useSession({
    userid,
    authLevel: 'assertion',
    lastPasswordReset: await h.writer.lastPasswordReset(userid),
  });
  ok(await b.post('used_address_as_primary', { email: `lee@${PRIMARY}` }), 'used_address_as_primary');
  ok(
    await b.post('add_email_with_assertion', { assertion: h.assertion(`more@${PRIMARY}`) }),
    'add_email_with_assertion',
  );

  const webhead = h.webhead();
  const calls: [string, Record<string, unknown>][] = [
    ['create_account_with_assertion', { email: `ola@${PRIMARY}` }],
    ['user_used_email_as', { userid, email: 'lee@example.com', used_as: 'secondary' }],
    ['increment_failed_auth_tries', { userid }],
    ['reset_failed_auth_tries', { userid }],
    ['rehash_password', { userid, pass: 'lee password' }],
    ['hit_rate_limit', { bucket: 'auth:ip:192.0.2.1' }],
    ['saw_idp', { domain: PRIMARY }],
    ['forget_idp', { domain: PRIMARY }],
    ['revoke_session', { sid: 'a-revoked-session-id01', expiresAt: 4_102_444_800_000 }],
  ];
  for (const [op, body] of calls) ok(await webhead.post(op, body), op);
});

test('the check fails on a wire change: a field more, a field of another type, JSON for text', () => {
  const answer = (status: number, type: string, text: string) => ({
    status,
    headers: { 'content-type': type },
    text,
    json: () => JSON.parse(text) as Record<string, unknown>,
  });
  const json = 'application/json; charset=utf-8';
  checkWsapiAnswer('/wsapi/have_email?email=a@b.c', answer(200, json, '{"email_known":true}'));
  assert.throws(
    () => checkWsapiAnswer('/wsapi/have_email', answer(200, json, '{"email_known":true,"userid":1}')),
    ContractError,
  );
  assert.throws(
    () => checkWsapiAnswer('/wsapi/have_email', answer(200, json, '{"email_known":"yes"}')),
    ContractError,
  );
  assert.throws(() => checkWsapiAnswer('/wsapi/ping', answer(200, json, '"ok"')), ContractError);
  assert.throws(
    () => checkWsapiAnswer('/wsapi/logout', answer(400, 'text/html', '<p>bad</p>')),
    ContractError,
  );
});

test('every op of the catalogue was answered 200 and checked', () => {
  const missing = Object.keys(operations).filter((name) => !observed.get(name)?.has(200));
  assert.deepEqual(missing, []);
});
