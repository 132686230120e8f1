/**
 * The example primary IdP over real HTTP: its support document parses, a signed-in user's posted key comes
 * back certified by the domain key it publishes (judged by verifyBackedAssertion with a table directory),
 * and it refuses to certify for anyone not signed in, from another origin, or for longer than 24 h.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { request } from 'undici';
import {
  bundle,
  createAssertion,
  generateKeypair,
  parseSupportDocument,
  readCertificate,
  verifyBackedAssertion,
  type IssuerDirectory,
  type PublicKey,
} from '../../src/browserid/index.ts';
import {
  addressFor,
  buildExamplePrimary,
  certificateLifetimeMs,
  MAX_CERTIFICATE_MS,
  type ExamplePrimary,
} from '../../src/example/primary.ts';
import { freePort } from '../helpers/stack.ts';

const PERSONA = 'http://127.0.0.1:10002';
const RP = 'http://127.0.0.1:10001';
let idp: ExamplePrimary;

before(async () => {
  const port = await freePort();
  idp = buildExamplePrimary({
    domain: 'example.domain',
    origin: `http://127.0.0.1:${port}`,
    personaUrl: PERSONA,
    logger: pino({ level: 'silent' }),
  });
  await idp.app.listen({ host: '127.0.0.1', port });
});
after(async () => {
  await idp.app.close();
});

async function call(
  method: 'GET' | 'POST',
  path: string,
  options: { body?: unknown; cookie?: string; origin?: string } = {},
) {
  const res = await request(`${idp.origin}${path}`, {
    method,
    headers: {
      ...(options.body !== undefined
        ? { 'content-type': 'application/json', origin: options.origin ?? idp.origin }
        : {}),
      ...(options.cookie !== undefined ? { cookie: options.cookie } : {}),
    },
    body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
  });
  const text = await res.body.text();
  const setCookie = [res.headers['set-cookie'] ?? []].flat()[0];
  return { status: res.statusCode, headers: res.headers, text, setCookie };
}
const json = (text: string) => JSON.parse(text) as Record<string, unknown>;

async function publishedKey(): Promise<PublicKey> {
  const res = await call('GET', '/.well-known/browserid');
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const doc = parseSupportDocument(res.text);
  assert.equal(doc.kind, 'supported');
  if (doc.kind !== 'supported') throw new Error('unreachable');
  assert.equal(doc.authentication, '/authenticate');
  assert.equal(doc.provisioning, '/provision');
  assert.equal(doc.publicKey.alg, 'RS256');
  return doc.publicKey;
}

/** Issuers' keys from a table, as discovery would have answered them. */
const table = (keys: Record<string, PublicKey>): IssuerDirectory => ({
  publicKeyOf: async (issuer) => {
    const key = keys[issuer];
    if (!key) throw new Error(`no key for ${issuer}`);
    return key;
  },
  authorityOf: async (domain) => (keys[domain] ? domain : null),
});

async function signIn(user: string): Promise<string> {
  const res = await call('POST', '/api/login', { body: { user } });
  assert.equal(res.status, 200, res.text);
  assert.match(res.setCookie ?? '', /HttpOnly; SameSite=Lax/);
  return (res.setCookie ?? '').split(';', 1)[0] ?? '';
}

test('the support document parses and the key it publishes verifies the certificates it issues', async () => {
  const key = await publishedKey();
  assert.deepEqual(key.json, idp.keypair.publicKey.json);
  const cookie = await signIn('Alice');
  assert.equal(json((await call('GET', '/api/whoami', { cookie })).text).email, 'alice@example.domain');

  const user = generateKeypair('DS128');
  const certified = await call('POST', '/api/cert_key', {
    cookie,
    // As genKeyPair hands it over: the key serialized.
    body: { pubkey: JSON.stringify(user.publicKey.json), duration: 3600 },
  });
  assert.equal(certified.status, 200, certified.text);
  const cert = String(json(certified.text).cert);
  const parsed = readCertificate(cert);
  assert.equal(parsed.issuer, 'example.domain');
  assert.equal(parsed.principal.email, 'alice@example.domain');
  assert.equal((parsed.expiresAt ?? 0) - (parsed.issuedAt ?? 0), 3_600_000);

  const backed = bundle(
    [cert],
    createAssertion({ audience: RP, expiresAt: Date.now() + 120_000 }, user.secretKey),
  );
  const verified = await verifyBackedAssertion(backed, {
    audience: RP,
    directory: table({ 'example.domain': key }),
  });
  assert.deepEqual(
    { email: verified.email, issuer: verified.issuer, verified: verified.verified },
    { email: 'alice@example.domain', issuer: 'example.domain', verified: true },
  );
  // Another key for the domain (a different process, an impostor) does not verify it.
  await assert.rejects(
    verifyBackedAssertion(backed, {
      audience: RP,
      directory: table({ 'example.domain': generateKeypair('RS256').publicKey }),
    }),
    { code: 'bad-signature' },
  );
});

test('certificates last as asked, never beyond 24 hours', async () => {
  const cookie = await signIn('bob@example.domain');
  const user = generateKeypair('DS128');
  const certified = await call('POST', '/api/cert_key', {
    cookie,
    body: { pubkey: user.publicKey.json, duration: 30 * 24 * 3600 },
  });
  assert.equal(certified.status, 200, certified.text);
  const parsed = readCertificate(String(json(certified.text).cert));
  assert.equal(parsed.principal.email, 'bob@example.domain');
  assert.equal((parsed.expiresAt ?? 0) - (parsed.issuedAt ?? 0), MAX_CERTIFICATE_MS);
  assert.equal(certificateLifetimeMs(undefined), MAX_CERTIFICATE_MS);
  assert.equal(certificateLifetimeMs('60'), 60_000);
  assert.equal(certificateLifetimeMs(-5), MAX_CERTIFICATE_MS);
});

test('no certificate without a session, after logout, from another origin, or for a bad key', async () => {
  const pubkey = JSON.stringify(generateKeypair('DS128').publicKey.json);
  const anonymous = await call('POST', '/api/cert_key', { body: { pubkey } });
  assert.deepEqual([anonymous.status, json(anonymous.text)], [401, { error: 'not signed in' }]);
  const forged = await call('POST', '/api/cert_key', {
    body: { pubkey },
    cookie: `example_primary_session=${Buffer.from('eve@example.domain').toString('base64url')}.99999999999999.${'A'.repeat(43)}`,
  });
  assert.equal(forged.status, 401);

  const cookie = await signIn('carol');
  const crossSite = await call('POST', '/api/cert_key', {
    body: { pubkey },
    cookie,
    origin: 'https://evil.example',
  });
  assert.equal(crossSite.status, 403);
  const badKey = await call('POST', '/api/cert_key', { body: { pubkey: '{"algorithm":"RS"}' }, cookie });
  assert.equal(badKey.status, 400);
  assert.match(String(json(badKey.text).error), /^bad public key/);

  const logout = await call('POST', '/api/logout', { body: {}, cookie });
  assert.equal(logout.status, 200);
  assert.match(logout.setCookie ?? '', /Max-Age=0/);
  // The browser drops the cookie; the IdP holds no state, so a kept copy lasts until it expires (dev only).
  const after = await call('POST', '/api/cert_key', { body: { pubkey }, cookie: '' });
  assert.equal(after.status, 401);
});

test('sign-in names: this domain only, a plain local part', async () => {
  assert.equal(addressFor(' Dave ', 'example.domain'), 'dave@example.domain');
  assert.equal(addressFor('dave@example.domain', 'example.domain'), 'dave@example.domain');
  assert.equal(addressFor('dave@other.example', 'example.domain'), null);
  assert.equal(addressFor('a b', 'example.domain'), null);
  assert.equal(addressFor('', 'example.domain'), null);
  const refused = await call('POST', '/api/login', { body: { user: 'dave@other.example' } });
  assert.equal(refused.status, 400);
  assert.equal(refused.setCookie, undefined);
});

test('the pages: provisioning frameable by Persona only, authentication labelled and never framed', async () => {
  const provision = await call('GET', '/provision');
  assert.equal(provision.status, 200);
  assert.ok(provision.text.includes(`<script src="${PERSONA}/provisioning_api.js"></script>`));
  assert.match(
    String(provision.headers['content-security-policy']),
    new RegExp(`frame-ancestors ${PERSONA}$`),
  );
  assert.equal(provision.headers['x-frame-options'], undefined);
  const provisionJs = (await call('GET', '/provision.js')).text;
  for (const api of [
    'beginProvisioning(',
    'genKeyPair(',
    'registerCertificate(',
    'raiseProvisioningFailure(',
  ])
    assert.ok(provisionJs.includes(api), api);

  const auth = await call('GET', '/authenticate');
  assert.ok(auth.text.includes(`<script src="${PERSONA}/authentication_api.js"></script>`));
  assert.match(auth.text, /<label for="name">/);
  assert.match(auth.text, /role="status" aria-live="polite"/);
  assert.match(String(auth.headers['content-security-policy']), /frame-ancestors 'none'/);
  const authJs = (await call('GET', '/authenticate.js')).text;
  for (const api of ['beginAuthentication(', 'completeAuthentication()', 'raiseAuthenticationFailure('])
    assert.ok(authJs.includes(api), api);

  assert.equal((await call('GET', '/api/whoami')).headers['x-frame-options'], 'DENY');
});
