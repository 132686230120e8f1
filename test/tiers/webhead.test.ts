import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import bcrypt from 'bcrypt';
import {
  bundle,
  createAssertion,
  generateKeypair,
  parseSupportDocument,
  readCertificate,
  verifyBackedAssertion,
  verifyJws,
} from '../../src/browserid/index.ts';
import { databaseSettings, openReader } from '../../src/db/read.ts';
import { signTierRequest } from '../../src/http/tier-auth.ts';
import { createUpstream } from '../../src/http/upstream.ts';
import { bcryptCost } from '../../src/passwords/index.ts';
import {
  COST,
  eventually,
  FORCIBLE,
  ISSUER,
  PASSWORD,
  PUBLIC_URL,
  startStack,
  type Stack,
} from './webhead-harness.ts';
import { request } from 'undici';
import { tierKeyPair } from '../helpers/tier-keys.ts';

let stack: Stack;
before(async () => {
  stack = await startStack({ webhead: { proxyIdps: { 'bridged.test': 'bridge.persona.test' } } });
});
after(() => stack.close());

const durationOf = (cookie: string) => Number(cookie.split('.')[3]);

test('the webhead answers only signed router calls; heartbeats are open and the deep one checks its neighbours', async () => {
  const unsigned = await stack.send('GET', '/wsapi/session_context', { sign: false });
  assert.equal(unsigned.status, 403);
  assert.match(unsigned.text, /^Forbidden: /);
  const forged = signTierRequest('router', tierKeyPair().privateKey, 'webhead', {
    method: 'GET',
    url: '/.well-known/browserid',
    body: undefined,
  });
  const res = await request(`${stack.base}/.well-known/browserid`, { headers: forged });
  assert.equal(res.statusCode, 403);
  assert.equal(await res.body.text(), 'Forbidden: bad tier signature');

  const deep = await request(`${stack.base}/__heartbeat__?deep`);
  assert.equal(deep.statusCode, 200);
  assert.equal(await deep.body.text(), 'ok');
});

test('session_context: a CSRF token kept in the session, the server time, and an anonymous context', async () => {
  const b = stack.browser();
  const first = await b.context();
  assert.match(String(first.csrf_token), /^[A-Za-z0-9+/]{22}==$/);
  assert.ok(Math.abs(Number(first.server_time) - Date.now()) < 5000);
  assert.equal(first.authenticated, false);
  assert.equal(first.has_password, false);
  assert.equal(first.auth_level, undefined);
  assert.equal(first.userid, undefined);
  assert.equal(first.domain_key_creation_time, 1_700_000_000_000);
  assert.equal(Buffer.from(String(first.random_seed), 'base64').length, 32);
  assert.equal(first.data_sample_rate, 0);
  assert.equal(first.cookies, false);
  const second = await b.context();
  assert.equal(second.csrf_token, first.csrf_token);
  assert.notEqual(second.random_seed, first.random_seed);

  // The dialog's JavaScript-set probe cookie says cookies work.
  const probed = await stack.send('GET', '/wsapi/session_context', {
    headers: { cookie: 'can_set_cookies=1' },
  });
  assert.equal(probed.json().cookies, true);
  assert.equal(probed.headers['cache-control'], 'no-cache, max-age=0');
  // https public URL: the session cookie is Secure, HttpOnly and scoped to /wsapi.
  assert.match(String(probed.headers['set-cookie']), /; Path=\/wsapi; .*HttpOnly; SameSite=Lax; Secure$/);
});

test('POSTs need the CSRF token of the session', async () => {
  const b = stack.browser('198.51.100.20');
  const noSession = await b.post('authenticate_user', {
    email: 'a@example.org',
    pass: PASSWORD,
    ephemeral: false,
  });
  assert.equal(noSession.status, 403);
  assert.equal(noSession.text, 'Forbidden: no cookie');
  await b.context();
  const wrong = await b.post('authenticate_user', {
    email: 'a@example.org',
    pass: PASSWORD,
    ephemeral: false,
    csrf: 'AAAAAAAAAAAAAAAAAAAAAA==',
  });
  assert.equal(wrong.status, 400);
  assert.equal(wrong.text, 'Bad Request: CSRF violation');
});

test('sign-in with the password: a password-level session, its context, the addresses, logout; no write when nothing to clear', async () => {
  const userid = await stack.addSecondary('alice@example.org');
  await stack.addAddress(userid, 'alice@work.example.org');
  const before = await stack.dbwriterOps();
  const b = stack.browser('198.51.100.21');
  const res = await b.signIn('Alice@Example.org');
  assert.equal(res.status, 200);
  assert.deepEqual(res.json(), { success: true, userid, suppress_ask_if_users_computer: false });
  assert.equal(durationOf(b.cookie), 28 * 86_400_000);

  const ctx = await b.context();
  assert.equal(ctx.authenticated, true);
  assert.equal(ctx.auth_level, 'password');
  assert.equal(ctx.has_password, true);
  assert.equal(ctx.userid, userid);
  assert.equal(ctx.cookies, true);
  const listed = await b.get('list_emails');
  assert.deepEqual(listed.json(), { success: true, emails: ['alice@example.org', 'alice@work.example.org'] });

  // SPEC §4.7: a good sign-in writes nothing: no reset of failures that were not there, no counter.
  const afterOps = await stack.dbwriterOps();
  assert.equal(afterOps.reset_failed_auth_tries ?? 0, before.reset_failed_auth_tries ?? 0);
  assert.equal(afterOps.hit_rate_limit ?? 0, before.hit_rate_limit ?? 0);

  const out = await b.post('logout');
  assert.deepEqual(out.json(), { success: true });
  const anonymous = await b.context();
  assert.equal(anonymous.authenticated, false);
  assert.equal(anonymous.csrf_token, ctx.csrf_token, 'logout keeps the CSRF token');
  assert.equal((await b.get('list_emails')).text, 'Bad Request: requires authentication');
});

test('an ephemeral sign-in lasts an hour until prolonged to four weeks', async () => {
  await stack.addSecondary('eph@example.org');
  const b = stack.browser('198.51.100.22');
  assert.equal((await b.signIn('eph@example.org', PASSWORD, true)).json().success, true);
  assert.equal(durationOf(b.cookie), 3_600_000);
  const prolonged = await b.post('prolong_session');
  assert.equal(prolonged.status, 200);
  assert.equal(prolonged.text, 'OK');
  assert.match(String(prolonged.headers['content-type']), /^text\/plain/);
  assert.equal(durationOf(b.cookie), 28 * 86_400_000);
  assert.equal((await b.context()).auth_level, 'password');
  const anonymous = stack.browser();
  await anonymous.context();
  assert.equal((await anonymous.post('prolong_session')).text, 'Bad Request: requires authentication');
});

test('wrong password, unknown user, account without a password; failures are counted and cleared by the next success', async () => {
  const userid = await stack.addSecondary('bob@example.org');
  await stack.addPrimary('prim@example.org');
  const b = stack.browser('198.51.100.23');
  const wrong = await b.signIn('bob@example.org', 'not the password');
  assert.deepEqual(wrong.json(), { success: false, reason: 'password mismatch for user: bob@example.org' });
  assert.equal((await stack.reader.checkAuth(userid))?.failedAuthTries, 1);
  assert.deepEqual((await b.signIn('nobody@example.org')).json(), { success: false, reason: 'no such user' });
  assert.deepEqual((await b.signIn('prim@example.org')).json(), {
    success: false,
    reason: 'no password set for user',
  });
  assert.equal((await b.context()).authenticated, false);

  const before = await stack.dbwriterOps();
  assert.equal((await b.signIn('bob@example.org')).json().success, true);
  await eventually(async () => (await stack.reader.checkAuth(userid))?.failedAuthTries === 0, 'the reset');
  assert.equal(
    (await stack.dbwriterOps()).reset_failed_auth_tries,
    (before.reset_failed_auth_tries ?? 0) + 1,
  );
});

test('wrong passwords from a browser the account never used: three back to back, then 429 with growing Retry-After, nothing counted', async () => {
  // The hourly cap (`account locked`), the owner's own browser and the reset: test/tiers/webhead-lockout.test.ts.
  const userid = await stack.addSecondary('carol@example.org');
  const b = stack.browser('198.51.100.24');
  for (let i = 0; i < 3; i++) {
    const res = await b.signIn('carol@example.org', `wrong password ${i}`);
    assert.equal(res.json().reason, 'password mismatch for user: carol@example.org');
  }
  const slowed = await stack.browser('198.51.100.124').signIn('carol@example.org');
  assert.equal(slowed.status, 429, 'even with the right password, from anywhere');
  assert.equal(slowed.text, 'Too Many Requests: too many sign-in attempts, try again later');
  assert.ok(
    ['1', '2'].includes(String(slowed.headers['retry-after'])),
    String(slowed.headers['retry-after']),
  );
  assert.equal(
    (await stack.reader.checkAuth(userid))?.failedAuthTries,
    3,
    'a refusal before bcrypt counts no more',
  );
});

test('a hash of another cost is replaced after a successful sign-in, once', async () => {
  const userid = await stack.addSecondary('dave@example.org', { cost: COST + 1 });
  const b = stack.browser('198.51.100.25');
  assert.equal((await b.signIn('dave@example.org')).json().success, true);
  await eventually(async () => {
    const hash = (await stack.reader.checkAuth(userid))?.hash;
    return typeof hash === 'string' && bcryptCost(hash) === COST;
  }, 'the rehash');
  const hash = (await stack.reader.checkAuth(userid))?.hash ?? '';
  assert.ok(await bcrypt.compare(PASSWORD, hash), 'the new hash is of the same password');
  const before = (await stack.dbwriterOps()).rehash_password;
  assert.equal((await b.signIn('dave@example.org')).json().success, true);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal((await stack.dbwriterOps()).rehash_password, before);
});

test('failed sign-ins per client address are limited (429 with Retry-After); other addresses are not', async () => {
  const b = stack.browser('203.0.113.99');
  for (let i = 0; i < 15; i++) assert.equal((await b.signIn('nobody@example.org')).status, 200);
  const refused = await b.signIn('nobody@example.org');
  assert.equal(refused.status, 429);
  assert.equal(refused.text, 'Too Many Requests: too many sign-in attempts, try again later');
  const retry = Number(refused.headers['retry-after']);
  assert.ok(retry > 0 && retry <= 600, String(retry));
  const elsewhere = stack.browser('203.0.113.100');
  assert.equal((await elsewhere.signIn('nobody@example.org')).status, 200);
});

test('cert_key: the keysigner certifies the key for an owned, verified address; the certificate verifies with the domain key', async () => {
  const userid = await stack.addSecondary('erin@example.org');
  await stack.addAddress(userid, 'erin@home.example.org');
  await stack.addSecondary('frank@example.org');
  const b = stack.browser('198.51.100.26');
  assert.equal((await b.signIn('erin@example.org')).json().success, true);
  const user = generateKeypair('DS128');
  const pubkey = JSON.stringify(user.publicKey.json);

  const res = await b.post('cert_key', { email: 'erin@home.example.org', pubkey, ephemeral: false });
  assert.equal(res.status, 200, res.text);
  assert.match(String(res.headers['content-type']), /^text\/plain/);
  const cert = readCertificate(res.text);
  assert.ok(verifyJws(cert.jws, stack.domain.publicKey));
  assert.equal(cert.issuer, ISSUER);
  assert.equal(cert.principal.email, 'erin@home.example.org');
  assert.deepEqual(cert.publicKey.json, user.publicKey.json);
  assert.equal((cert.expiresAt ?? 0) - (cert.issuedAt ?? 0), 86_400_000);
  // A relying party accepts an assertion backed by it, knowing only our public key.
  const assertion = createAssertion(
    { audience: 'https://rp.example.org', expiresAt: Date.now() + 120_000 },
    user.secretKey,
  );
  const verified = await verifyBackedAssertion(bundle([res.text], assertion), {
    audience: 'https://rp.example.org',
    directory: {
      publicKeyOf: () => Promise.reject(new Error('no discovery here')),
      authorityOf: () => Promise.resolve(null),
    },
    fallbackIssuer: ISSUER,
    fallbackKey: stack.domain.publicKey,
  });
  assert.equal(verified.email, 'erin@home.example.org');

  const ephemeral = readCertificate(
    (await b.post('cert_key', { email: 'erin@example.org', pubkey, ephemeral: true })).text,
  );
  assert.equal((ephemeral.expiresAt ?? 0) - (ephemeral.issuedAt ?? 0), 3_600_000);
  const forced = readCertificate(
    (await b.post('cert_key', { email: 'erin@example.org', pubkey, ephemeral: false, forceIssuer: FORCIBLE }))
      .text,
  );
  assert.equal(forced.issuer, FORCIBLE);
  const notForcible = await b.post('cert_key', {
    email: 'erin@example.org',
    pubkey,
    ephemeral: false,
    forceIssuer: 'evil.example.org',
  });
  assert.equal(notForcible.status, 400);
  assert.equal(notForcible.text, 'Bad Request: Invalid issuer, unable to issue certificate');

  for (const email of ['frank@example.org', 'nobody@example.org']) {
    const refused = await b.post('cert_key', { email, pubkey, ephemeral: false });
    assert.equal(refused.status, 400);
    assert.equal(refused.text, 'Bad Request: that email does not belong to you');
  }
  const badKey = await b.post('cert_key', {
    email: 'erin@example.org',
    pubkey: '{"algorithm":"XX"}'.padEnd(60),
    ephemeral: false,
  });
  assert.equal(badKey.status, 400);
});

test('cert_key records the address as used as a secondary only when that changes', async () => {
  const userid = await stack.addSecondary('gina@example.org');
  await stack.addAddress(userid, 'gina@other.example.org');
  await stack.writer.updateEmailLastUsedAs('gina@other.example.org', 'primary');
  const b = stack.browser('198.51.100.27');
  assert.equal((await b.signIn('gina@example.org')).json().success, true);
  const pubkey = JSON.stringify(generateKeypair('RS256').publicKey.json);
  const before = (await stack.dbwriterOps()).user_used_email_as ?? 0;
  assert.equal(
    (await b.post('cert_key', { email: 'gina@example.org', pubkey, ephemeral: false })).status,
    200,
  );
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal((await stack.dbwriterOps()).user_used_email_as ?? 0, before, 'already secondary: no write');
  assert.equal(
    (await b.post('cert_key', { email: 'gina@other.example.org', pubkey, ephemeral: false })).status,
    200,
  );
  await eventually(
    async () => (await stack.reader.emailType('gina@other.example.org')) === 'secondary',
    'used_as',
  );
});

test('cert_key refuses an unverified address unless allowUnverified, which certifies an unverified-email', async () => {
  await stack.writer.createUnverifiedUser('hank@example.org', await bcrypt.hash(PASSWORD, COST));
  const b = stack.browser('198.51.100.28');
  assert.equal((await b.signIn('hank@example.org')).json().success, true);
  const pubkey = JSON.stringify(generateKeypair('DS128').publicKey.json);
  const refused = await b.post('cert_key', { email: 'hank@example.org', pubkey, ephemeral: false });
  assert.equal(refused.status, 403);
  assert.equal(refused.text, 'Forbidden: that email requires (re)verification');
  const allowed = await b.post('cert_key', {
    email: 'hank@example.org',
    pubkey,
    ephemeral: false,
    allowUnverified: true,
  });
  assert.equal(allowed.status, 200, allowed.text);
  const cert = readCertificate(allowed.text);
  assert.deepEqual(cert.jws.payload.principal, { 'unverified-email': 'hank@example.org' });
  assert.ok(verifyJws(cert.jws, stack.domain.publicKey));
});

test('a keysigner that does not answer: cert_key is a clean 503 and the deep heartbeat names it', async () => {
  await stack.addSecondary('ivan@example.org');
  const dead = createUpstream({
    tier: 'keysigner',
    urls: ['http://127.0.0.1:1'],
    caller: 'webhead',
    callerKey: tierKeyPair().privateKey,
  });
  const other = await stack.another({ keysigner: dead });
  try {
    const b = other.browser('198.51.100.29');
    assert.equal((await b.signIn('ivan@example.org')).json().success, true);
    const res = await b.post('cert_key', {
      email: 'ivan@example.org',
      pubkey: JSON.stringify(generateKeypair('RS256').publicKey.json),
      ephemeral: false,
    });
    assert.equal(res.status, 503);
    assert.equal(res.text, 'Service Unavailable: keysigner unavailable');
    const deep = await request(`${other.base}/__heartbeat__?deep`);
    assert.equal(deep.statusCode, 500);
    assert.match(await deep.body.text(), /^bad\nkeysigner: /);
  } finally {
    await dead.close();
  }
});

test('the database unavailable: 503 database unavailable, and the deep heartbeat says so', async () => {
  const missing = openReader(databaseSettings({ url: `sqlite:${join(stack.dir, 'absent', 'x.db')}` }));
  const other = await stack.another({ reader: missing });
  try {
    const b = other.browser('198.51.100.30');
    const info = await b.get('address_info', { email: 'a@example.org' });
    assert.equal(info.status, 503);
    assert.equal(info.text, 'Service Unavailable: database unavailable');
    assert.equal((await b.get('ping')).status, 503);
    assert.equal((await b.get('have_email', { email: 'a@example.org' })).status, 503);
    await b.context(); // needs no database while signed out
    const signIn = await b.signIn('a@example.org');
    assert.equal(signIn.status, 503);
    assert.equal(signIn.text, 'Service Unavailable: database unavailable');
    const deep = await request(`${other.base}/__heartbeat__?deep`);
    assert.equal(deep.statusCode, 500);
    assert.match(await deep.body.text(), /database: database unavailable/);
  } finally {
    await missing.close();
  }
});

test('ping, have_email and interaction_data (logged, CSRF-checked)', async () => {
  const b = stack.browser();
  const ping = await b.get('ping');
  assert.equal(ping.status, 200);
  assert.equal(ping.text, 'ok');
  await stack.addSecondary('known@example.org');
  assert.deepEqual((await b.get('have_email', { email: 'KNOWN@example.org' })).json(), { email_known: true });
  assert.deepEqual((await b.get('have_email', { email: 'unknown@example.org' })).json(), {
    email_known: false,
  });
  assert.equal((await b.get('have_email', { email: 'nope' })).status, 400);

  assert.equal((await b.post('interaction_data', { data: [] })).status, 403);
  await b.context();
  const sent = await b.post('interaction_data', { data: [{ event_stream: [] }, { event_stream: [] }] });
  assert.deepEqual(sent.json(), { success: true });
  assert.ok(
    stack.logs.some((line) => line.includes('"event":"interaction_data"') && line.includes('"entries":2')),
  );
});

test('our support document: the domain key and plain paths, briefly cacheable; bridged domains delegate; /pk', async () => {
  const res = await stack.send('GET', '/.well-known/browserid');
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.equal(res.headers['cache-control'], 'public, max-age=10');
  assert.deepEqual(res.json(), {
    'public-key': stack.domain.publicKey.json,
    authentication: '/auth',
    provisioning: '/provision',
  });
  const parsed = parseSupportDocument(res.text);
  assert.equal(parsed.kind, 'supported');

  const bridged = await stack.send('GET', '/.well-known/browserid?domain=Bridged.test');
  assert.deepEqual(bridged.json(), { authority: 'bridge.persona.test' });
  assert.equal(bridged.headers['cache-control'], 'public, max-age=10');
  assert.deepEqual((await stack.send('GET', '/.well-known/browserid?domain=other.test')).json(), res.json());

  const pk = await stack.send('GET', '/pk');
  assert.deepEqual(pk.json(), stack.domain.publicKey.json);
  const home = await stack.send('GET', '/');
  assert.equal(home.status, 200);
  assert.match(String(home.headers['content-type']), /^text\/html/);
  assert.equal(home.headers['x-frame-options'], 'DENY');
});

test('development routes are absent unless enabled', async () => {
  assert.equal((await stack.send('GET', '/wsapi/fake_verification?email=a@example.org')).status, 404);
  assert.equal((await stack.send('GET', '/__mailbox__')).status, 404);
  assert.equal((await stack.send('GET', '/__mailbox__.json')).status, 404);
});

test('what the webhead logs holds no password, password hash or session cookie', async () => {
  const userid = await stack.addSecondary('secret@example.org', { cost: COST + 1 });
  const b = stack.browser('198.51.100.31');
  await b.signIn('secret@example.org', 'a wrong password!');
  assert.equal((await b.signIn('secret@example.org')).json().success, true);
  await eventually(
    async () => bcryptCost((await stack.reader.checkAuth(userid))?.hash ?? '') === COST,
    'rehash',
  );
  const hash = (await stack.reader.checkAuth(userid))?.hash ?? '';
  const all = stack.logs.join('\n');
  assert.ok(stack.logs.length > 10);
  for (const secret of [PASSWORD, 'a wrong password!', hash, b.cookie])
    assert.ok(!all.includes(secret), secret.slice(0, 8));
  assert.ok(all.includes('"event":"signin"'), 'sign-ins are logged, by user id');
  assert.equal(PUBLIC_URL.startsWith('https:'), true);
});
