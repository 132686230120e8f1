/**
 * Primaries seen from the webhead, against identity providers served over real HTTPS by the test
 * (test/helpers/idp-servers.ts): address_info's states, the idp bookkeeping that lands in the database
 * through the real dbwriter, proxy IdPs, and auth_with_assertion.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcrypt';
import {
  bundle,
  certifyPublicKey,
  createAssertion,
  generateKeypair,
  supportDocumentFor,
  type SecretKey,
} from '../../src/browserid/index.ts';
import { openWriter } from '../../src/db/write.ts';
import {
  json,
  loopbackAgent,
  makeTestPki,
  startIdpServer,
  type IdpServer,
  type TestPki,
} from '../helpers/idp-servers.ts';
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
import type { Agent } from 'undici';

const PRIMARY = 'primary.test';
const DELEGATING = 'delegating.test';
const DISABLED = 'disabled.test';
const BROKEN = 'broken.test';
const BRIDGE = 'bridge.persona.test';
const BRIDGED = 'bridged.test';
const NAMES = [PRIMARY, DELEGATING, DISABLED, BROKEN, BRIDGE, BRIDGED];
const DAY = 86_400_000;

const idpKey = generateKeypair('RS256');
const bridgeKey = generateKeypair('RS256');
const paths = { authentication: '/sign_in', provisioning: '/provision' };

let pki: TestPki;
let idps: IdpServer;
let agent: Agent;
let stack: Stack;

before(async () => {
  pki = makeTestPki(NAMES);
  idps = await startIdpServer(pki);
  idps.serve(PRIMARY, supportDocumentFor(idpKey.publicKey, paths));
  idps.serve(DELEGATING, { authority: PRIMARY });
  idps.serve(DISABLED, { disabled: true });
  idps.on(BROKEN, json({ error: 'down for maintenance' }, {}, 503));
  idps.serve(BRIDGE, supportDocumentFor(bridgeKey.publicKey, paths));
  // BRIDGED answers 404: the proxy IdP mapping stands in for its missing document.
  agent = loopbackAgent(pki.ca, (host) => (NAMES.includes(host) ? { port: idps.port } : undefined));
  stack = await startStack({ dispatcher: agent, webhead: { proxyIdps: { [BRIDGED]: BRIDGE } } });
});
after(async () => {
  await stack.close();
  await agent.close();
  await idps.close();
  pki.remove();
});

const info = async (email: string, issuer?: string) =>
  stack.browser().get('address_info', issuer === undefined ? { email } : { email, issuer });

test('address_info: a primary (also through delegation) gives its URLs; the sighting is recorded in the database', async () => {
  const unknown = await info(`nobody@${PRIMARY}`);
  assert.equal(unknown.status, 200);
  assert.deepEqual(unknown.json(), {
    type: 'primary',
    issuer: PRIMARY,
    auth: `https://${PRIMARY}/sign_in`,
    prov: `https://${PRIMARY}/provision`,
    state: 'unknown',
  });
  await eventually(async () => (await stack.reader.getIDPLastSeen(PRIMARY)) !== undefined, 'saw_idp');
  const seen = (await stack.reader.getIDPLastSeen(PRIMARY))?.getTime() ?? 0;
  assert.ok(Math.abs(seen - Date.now()) < 5000);

  assert.deepEqual((await info(`someone@${DELEGATING}`)).json(), {
    type: 'primary',
    issuer: PRIMARY,
    auth: `https://${PRIMARY}/sign_in`,
    prov: `https://${PRIMARY}/provision`,
    state: 'unknown',
  });

  // A proxy IdP's domain without a document of its own is sent to its bridge.
  const bridged = (await info(`someone@${BRIDGED}`)).json();
  assert.equal(bridged.type, 'primary');
  assert.equal(bridged.issuer, BRIDGE);
  assert.equal(bridged.auth, `https://${BRIDGE}/sign_in`);
});

test('address_info: the states of known addresses, with the stored spelling', async () => {
  await stack.addPrimary(`Pat@${PRIMARY}`);
  const pat = (await info(`pat@${PRIMARY}`)).json();
  assert.equal(pat.state, 'known');
  assert.equal(pat.normalizedEmail, `Pat@${PRIMARY}`);

  await stack.addSecondary(`sec@${PRIMARY}`);
  assert.equal((await info(`sec@${PRIMARY}`)).json().state, 'transition_to_primary');

  // Secondary domains (nothing answers for example.org here).
  await stack.addSecondary('Quinn@example.org');
  assert.deepEqual((await info('quinn@EXAMPLE.org')).json(), {
    type: 'secondary',
    issuer: ISSUER,
    disabled: false,
    state: 'known',
    normalizedEmail: 'Quinn@example.org',
  });
  assert.deepEqual((await info('nobody@example.org')).json(), {
    type: 'secondary',
    issuer: ISSUER,
    disabled: false,
    state: 'unknown',
  });
  await stack.addPrimary('was-primary@example.org');
  assert.equal((await info('was-primary@example.org')).json().state, 'transition_no_password');
  await stack.addSecondary('pw-primary@example.org');
  await stack.writer.updateEmailLastUsedAs('pw-primary@example.org', 'primary');
  assert.equal((await info('pw-primary@example.org')).json().state, 'transition_to_secondary');
  await stack.writer.createUnverifiedUser('unv@example.org', await bcrypt.hash(PASSWORD, COST));
  assert.equal((await info('unv@example.org')).json().state, 'unverified');

  await stack.addSecondary(`dis@${DISABLED}`);
  assert.deepEqual((await info(`dis@${DISABLED}`)).json(), {
    type: 'secondary',
    issuer: ISSUER,
    disabled: true,
    state: 'known',
    normalizedEmail: `dis@${DISABLED}`,
  });

  assert.deepEqual((await stack.browser().get('have_email', { email: `PAT@${PRIMARY}` })).json(), {
    email_known: true,
  });
});

test('address_info: a primary seen days ago that fails now is offline; old and disabled rows are forgotten', async () => {
  await stack.addPrimary(`olive@${BROKEN}`);
  await stack.writer.updateIDPLastSeen(BROKEN);
  const offline = (await info(`olive@${BROKEN}`)).json();
  assert.equal(offline.type, 'secondary');
  assert.equal(offline.state, 'offline');
  assert.equal((await stack.reader.getIDPLastSeen(BROKEN)) !== undefined, true, 'kept while offline');

  // Ten days ago: past the grace period, so a secondary now, and the row goes.
  const past = openWriter(stack.settings, { clock: () => Date.now() - 10 * DAY });
  try {
    await past.updateIDPLastSeen(BROKEN);
    await past.updateIDPLastSeen(DISABLED);
  } finally {
    await past.close();
  }
  assert.equal((await info(`olive@${BROKEN}`)).json().state, 'transition_no_password');
  await eventually(async () => (await stack.reader.getIDPLastSeen(BROKEN)) === undefined, 'forget_idp');

  // A domain that says it is disabled is not offline, however recently it was a primary.
  await stack.writer.updateIDPLastSeen(DISABLED);
  await stack.addPrimary(`dora@${DISABLED}`);
  assert.equal((await info(`dora@${DISABLED}`)).json().state, 'transition_no_password');
  await eventually(async () => (await stack.reader.getIDPLastSeen(DISABLED)) === undefined, 'forget_idp');
});

test('address_info with a forced issuer: a secondary of that issuer, if it may be forced', async () => {
  await stack.addSecondary(`forced@${PRIMARY}`);
  assert.deepEqual((await info(`forced@${PRIMARY}`, FORCIBLE)).json(), {
    type: 'secondary',
    issuer: FORCIBLE,
    disabled: false,
    state: 'known',
    normalizedEmail: `forced@${PRIMARY}`,
  });
  assert.equal((await info(`nobody@${PRIMARY}`, FORCIBLE)).json().state, 'unknown');
  const refused = await info(`forced@${PRIMARY}`, 'evil.test');
  assert.equal(refused.status, 400);
  assert.deepEqual(refused.json(), { success: false, reason: 'issuer: not a forcible issuer' });
  assert.equal((await info(`forced@${PRIMARY}`, 'not a host')).status, 400);
});

function backed(
  email: string,
  issuer: string,
  key: SecretKey,
  options: { audience?: string; expiresAt?: number } = {},
) {
  const user = generateKeypair('RS256');
  const now = Date.now();
  const cert = certifyPublicKey(
    {
      issuer,
      publicKey: user.publicKey,
      principal: { email },
      issuedAt: now - 1000,
      expiresAt: now + 3_600_000,
    },
    key,
  );
  const assertion = createAssertion(
    { audience: options.audience ?? PUBLIC_URL, expiresAt: options.expiresAt ?? now + 120_000 },
    user.secretKey,
  );
  return bundle([cert], assertion);
}

test('auth_with_assertion: a first sign-in makes an account without a password, at assertion level', async () => {
  const b = stack.browser('198.51.100.40');
  await b.context();
  const res = await b.post('auth_with_assertion', {
    assertion: backed(`newbie@${PRIMARY}`, PRIMARY, idpKey.secretKey),
    ephemeral: false,
  });
  assert.equal(res.status, 200, res.text);
  const body = res.json();
  assert.equal(body.success, true);
  assert.equal(body.suppress_ask_if_users_computer, false);
  const userid = body.userid as number;
  assert.equal(await stack.reader.emailToUID(`newbie@${PRIMARY}`), userid);
  assert.equal(await stack.reader.emailType(`newbie@${PRIMARY}`), 'primary');
  assert.equal((await stack.reader.checkAuth(userid))?.hash, null);

  const ctx = await b.context();
  assert.equal(ctx.authenticated, true);
  assert.equal(ctx.auth_level, 'assertion');
  assert.equal(ctx.has_password, false);
  assert.deepEqual((await b.get('list_emails')).json(), { success: true, emails: [`newbie@${PRIMARY}`] });
  // Persona certifies only for password sessions: a primary's user gets certificates from the primary.
  const cert = await b.post('cert_key', {
    email: `newbie@${PRIMARY}`,
    pubkey: JSON.stringify(generateKeypair('RS256').publicKey.json),
    ephemeral: false,
  });
  assert.equal(cert.text, 'Bad Request: requires authentication');

  const again = stack.browser('198.51.100.40');
  await again.context();
  const second = await again.post('auth_with_assertion', {
    assertion: backed(`newbie@${PRIMARY}`, PRIMARY, idpKey.secretKey),
    ephemeral: true,
  });
  assert.deepEqual(second.json(), { success: true, userid, suppress_ask_if_users_computer: false });
  assert.equal(Number(again.cookie.split('.')[3]), 3_600_000);
});

test('auth_with_assertion: a known secondary signs in through its primary, which becomes its type; no downgrade', async () => {
  const userid = await stack.addSecondary(`swap@${PRIMARY}`);
  const b = stack.browser('198.51.100.41');
  assert.equal((await b.signIn(`swap@${PRIMARY}`)).json().success, true);
  const res = await b.post('auth_with_assertion', {
    assertion: backed(`swap@${PRIMARY}`, PRIMARY, idpKey.secretKey),
    ephemeral: false,
  });
  assert.deepEqual(res.json(), { success: true, userid, suppress_ask_if_users_computer: false });
  assert.equal(
    (await b.context()).auth_level,
    'password',
    'a password session is not lowered (persona #1049)',
  );
  await eventually(
    async () => (await stack.reader.emailType(`swap@${PRIMARY}`)) === 'primary',
    'used_as primary',
  );
});

test('auth_with_assertion: through a bridge for a proxy IdP domain; our own certificates too', async () => {
  const b = stack.browser('198.51.100.42');
  await b.context();
  const bridged = await b.post('auth_with_assertion', {
    assertion: backed(`user@${BRIDGED}`, BRIDGE, bridgeKey.secretKey),
    ephemeral: false,
  });
  assert.equal(bridged.json().success, true, bridged.text);
  assert.equal(await stack.reader.emailType(`user@${BRIDGED}`), 'primary');

  const userid = await stack.addSecondary('own@example.org');
  const ours = await b.post('auth_with_assertion', {
    assertion: backed('own@example.org', ISSUER, stack.domain.secretKey),
    ephemeral: false,
  });
  assert.deepEqual(ours.json(), { success: true, userid, suppress_ask_if_users_computer: false });
});

test('auth_with_assertion refuses what does not verify, with the reason, and signs nobody in', async () => {
  const b = stack.browser('198.51.100.43');
  await b.context();
  const cases: [string, string | RegExp][] = [
    [
      backed(`x@${PRIMARY}`, PRIMARY, idpKey.secretKey, { audience: 'https://rp.example.org' }),
      /^audience mismatch/,
    ],
    [backed(`x@${PRIMARY}`, PRIMARY, bridgeKey.secretKey), 'bad signature in chain'],
    [
      backed(`x@${PRIMARY}`, PRIMARY, idpKey.secretKey, { expiresAt: Date.now() - 1000 }),
      'assertion has expired',
    ],
    [
      backed('x@example.org', PRIMARY, idpKey.secretKey),
      "issuer 'primary.test' may not speak for emails from 'example.org'",
    ],
    [backed(`x@${BROKEN}`, BROKEN, idpKey.secretKey), /^can't get public key for broken\.test: /],
  ];
  for (const [assertion, reason] of cases) {
    const res = await b.post('auth_with_assertion', { assertion, ephemeral: false });
    assert.equal(res.status, 200);
    const body = res.json();
    assert.equal(body.success, false);
    if (typeof reason === 'string') assert.equal(body.reason, reason);
    else assert.match(String(body.reason), reason);
  }
  assert.equal((await b.context()).authenticated, false);
  assert.equal(await stack.reader.emailKnown(`x@${PRIMARY}`), false);
  const malformed = await b.post('auth_with_assertion', { assertion: 'x'.repeat(60), ephemeral: false });
  assert.equal(malformed.status, 200);
  assert.equal(malformed.json().success, false);
});
