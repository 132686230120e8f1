import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { request } from 'undici';
import { generateKeypair, readCertificate, verifyJws } from '../../src/browserid/index.ts';
import { signTierRequest, type Tier } from '../../src/http/tier-auth.ts';
import { buildKeysigner } from '../../src/tiers/keysigner/index.ts';
import { tierKeyPair } from '../helpers/tier-keys.ts';

const domain = generateKeypair('RS256');
const webhead = tierKeyPair();
const NOW = 1_800_000_000_000;

async function start() {
  const { app } = buildKeysigner({
    issuer: 'login.example.org',
    domainKey: domain.secretKey,
    certificateValidityMs: 86_400_000,
    ephemeralValidityMs: 3_600_000,
    forcibleIssuers: ['fxos.example.org'],
    callerKeys: new Map<Tier, typeof webhead.publicKey>([['webhead', webhead.publicKey]]),
    logger: pino({ level: 'silent' }),
    now: () => NOW,
  });
  return { app, base: await app.listen({ port: 0, host: '127.0.0.1' }) };
}

function certKey(base: string, params: Record<string, unknown>, sign = true) {
  const body = JSON.stringify(params);
  const headers = sign
    ? signTierRequest('webhead', webhead.privateKey, 'keysigner', {
        method: 'POST',
        url: '/wsapi/cert_key',
        body,
      })
    : {};
  return request(`${base}/wsapi/cert_key`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
}

const user = generateKeypair('DS128').publicKey;
const pubkey = JSON.stringify(user.json);

test('cert_key signs the user key for the address, 24 h or 1 h when ephemeral, as text/plain', async (t) => {
  const { app, base } = await start();
  t.after(() => app.close());
  const res = await certKey(base, { email: 'alice@example.com', pubkey, ephemeral: false });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain/);
  const cert = readCertificate(await res.body.text());
  assert.ok(verifyJws(cert.jws, domain.publicKey));
  assert.deepEqual(Object.keys(cert.jws.payload).sort(), ['exp', 'iat', 'iss', 'principal', 'public-key']);
  assert.equal(cert.issuer, 'login.example.org');
  assert.deepEqual(cert.principal, { email: 'alice@example.com', unverifiedEmail: undefined });
  assert.deepEqual(cert.publicKey.json, user.json);
  assert.equal(cert.issuedAt, NOW);
  assert.equal(cert.expiresAt, NOW + 86_400_000);

  const ephemeral = readCertificate(
    await (await certKey(base, { email: 'alice@example.com', pubkey, ephemeral: true })).body.text(),
  );
  assert.equal(ephemeral.expiresAt, NOW + 3_600_000);
  const unverified = readCertificate(
    await (
      await certKey(base, { email: 'u@example.com', pubkey, ephemeral: false, unverified: true })
    ).body.text(),
  );
  assert.deepEqual(unverified.jws.payload.principal, { 'unverified-email': 'u@example.com' });
  const forced = readCertificate(
    await (
      await certKey(base, {
        email: 'f@example.com',
        pubkey,
        ephemeral: false,
        forceIssuer: 'fxos.example.org',
      })
    ).body.text(),
  );
  assert.equal(forced.issuer, 'fxos.example.org');
});

test('cert_key refuses unsigned calls from loopback, bad parameters and issuers it may not use', async (t) => {
  const { app, base } = await start();
  t.after(() => app.close());
  const unsigned = await certKey(base, { email: 'alice@example.com', pubkey, ephemeral: false }, false);
  assert.equal(unsigned.statusCode, 403);
  assert.match(await unsigned.body.text(), /^Forbidden: /);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ pubkey, ephemeral: false }, /missing required parameter: 'email'/],
    [{ email: 'nope', pubkey, ephemeral: false }, /email: invalid/],
    [{ email: 'a@example.com', pubkey: '{"algorithm":"RS"}', ephemeral: false }, /pubkey: invalid/],
    [{ email: 'a@example.com', pubkey: pubkey.replace('"DS"', '"XX"'), ephemeral: false }, /pubkey: invalid/],
    [{ email: 'a@example.com', pubkey, ephemeral: 'yes' }, /ephemeral: must be a boolean/],
    [
      { email: 'a@example.com', pubkey, ephemeral: false, forceIssuer: 'evil.example' },
      /Invalid issuer, unable to issue certificate/,
    ],
    [
      { email: 'a@example.com', pubkey, ephemeral: false, admin: true },
      /extra parameters are not allowed: admin/,
    ],
  ];
  for (const [params, why] of cases) {
    const res = await certKey(base, params);
    assert.equal(res.statusCode, 400, JSON.stringify(params).slice(0, 80));
    assert.match(await res.body.text(), why);
  }
});

test('cert_key refuses a present but forged, tampered, replayed or misattributed tier signature', async (t) => {
  const { app, base } = await start();
  t.after(() => app.close());
  const params = { email: 'a@example.com', pubkey, ephemeral: false };
  const body = JSON.stringify(params);
  const send = (headers: Record<string, string>, payload = body) =>
    request(`${base}/wsapi/cert_key`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: payload,
    });
  const signedBy = (key: typeof webhead.privateKey, caller: Tier = 'webhead') =>
    signTierRequest(caller, key, 'keysigner', { method: 'POST', url: '/wsapi/cert_key', body });

  const refusals: [string, Awaited<ReturnType<typeof send>>, RegExp][] = [];
  refusals.push([
    'forged (a key the keysigner does not share)',
    await send(signedBy(tierKeyPair().privateKey)),
    /bad tier signature/,
  ]);
  const other = JSON.stringify({
    ...params,
    pubkey: JSON.stringify(generateKeypair('RS256').publicKey.json),
  });
  refusals.push([
    'tampered (another public key under a valid signature)',
    await send(signedBy(webhead.privateKey), other),
    /bad tier signature/,
  ]);
  const valid = signedBy(webhead.privateKey);
  const first = await send(valid);
  assert.equal(first.statusCode, 200, 'the genuine call is certified');
  await first.body.dump();
  refusals.push(['replayed (the genuine call again)', await send(valid), /replayed/]);
  refusals.push([
    'misattributed (the router, which may not call the keysigner)',
    await send(signedBy(webhead.privateKey, 'router')),
    /router may not call keysigner/,
  ]);
  const garbled = { ...valid, 'x-persona-signature': 'A'.repeat(43) };
  refusals.push(['garbled signature', await send(garbled), /bad tier signature/]);
  for (const [what, res, reason] of refusals) {
    const text = await res.body.text();
    assert.equal(res.statusCode, 403, `${what}: ${text}`);
    assert.match(text, reason, what);
    assert.doesNotMatch(text, /^ey/, `${what}: no certificate`);
  }
});
