/**
 * Interop, theirs → ours: what browserid-crypto (jwcrypto 0.9.1, Persona's own library) mints, our
 * verifier accepts; the secret keys it writes, our codec imports and signs with, and jwcrypto accepts
 * those signatures. Every positive here is cross-checked with jwcrypto's own verifyBundle, so a failure
 * is ours, not a bad fixture.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { bundle, createAssertion } from '../../src/browserid/assertion.ts';
import { certifyPublicKey } from '../../src/browserid/certificate.ts';
import { parseSecretKey, publicKeyOf } from '../../src/browserid/keys.ts';
import {
  checkBackedAssertion,
  verifyBackedAssertion,
  type VerifyOptions,
} from '../../src/browserid/verify.ts';
import {
  bothSides,
  jwcrypto,
  ourKey,
  tableDirectory,
  type JwAlgorithm,
  type JwKey,
  type JwKeypair,
} from '../helpers/jwcrypto.ts';

const RP = 'https://rp.example';
const HOUR = 3_600_000;

const idp = await jwcrypto.generateKeypair('RS256');

/** A support document for `key`, written from jwcrypto's own JSON (not through our codec). */
const documentOf = (key: JwKey) => ({
  'public-key': key.toSimpleObject(),
  authentication: '/auth',
  provisioning: '/provision',
});

const optionsFor = (domain: string, issuerKey: JwKey, now: number): VerifyOptions => ({
  audience: RP,
  directory: tableDirectory({ [domain]: documentOf(issuerKey) }),
  now,
});

/** jwcrypto mints a whole backed assertion: certificate by `issuer`, assertion by `user`. */
async function mint(issuer: JwKeypair, user: JwKeypair, domain: string, email: string, now: number) {
  const cert = await jwcrypto.certify(
    {
      publicKey: user.publicKey,
      principal: { email },
      issuer: domain,
      issuedAt: now - 1000,
      expiresAt: now + HOUR,
    },
    issuer.secretKey,
  );
  const assertion = await jwcrypto.assert(
    { audience: RP, issuedAt: now - 1000, expiresAt: now + 120_000 },
    user.secretKey,
  );
  return jwcrypto.bundle([cert], assertion);
}

test('user keys of every jwcrypto algorithm, certified by a jwcrypto RS256 IdP, verify with ours', async () => {
  for (const alg of ['RS64', 'RS128', 'RS256', 'DS128', 'DS256'] as const) {
    const user = await jwcrypto.generateKeypair(alg);
    const now = Date.now();
    const backed = await mint(idp, user, 'idp.example', `${alg.toLowerCase()}@idp.example`, now);

    const peer = await jwcrypto.verifyBundle(backed, now, () => idp.publicKey);
    assert.equal(peer.assertion.audience, RP, `jwcrypto itself, ${alg}`);

    const result = await verifyBackedAssertion(backed, optionsFor('idp.example', idp.publicKey, now));
    assert.deepEqual(result, {
      email: `${alg.toLowerCase()}@idp.example`,
      verified: true,
      audience: RP,
      expires: now + 120_000,
      issuer: 'idp.example',
    });
    // Our codec reads their key JSON to the same label and writes it back unchanged.
    const key = ourKey(user.publicKey);
    assert.equal(key.alg, user.publicKey.getAlgorithm());
    assert.deepEqual(key.json, user.publicKey.toSimpleObject());
  }
});

test('issuer keys of the other algorithms (RS128, DS128, DS256) verify with ours', async () => {
  const user = await jwcrypto.generateKeypair('DS128');
  for (const alg of ['RS128', 'DS128', 'DS256'] as const) {
    const issuer = await jwcrypto.generateKeypair(alg);
    const now = Date.now();
    const backed = await mint(issuer, user, 'small.example', 'kim@small.example', now);
    await jwcrypto.verifyBundle(backed, now, () => issuer.publicKey);
    const result = await checkBackedAssertion(backed, optionsFor('small.example', issuer.publicKey, now));
    assert.ok(result.ok, `${alg}: ${result.ok ? '' : result.reason}`);
    // The same bundle under another issuer key must not pass: the key from the directory is what counts.
    const wrong = await checkBackedAssertion(backed, optionsFor('small.example', idp.publicKey, now));
    assert.deepEqual(wrong, { ok: false, code: 'bad-signature', reason: 'bad signature in chain' }, alg);
  }
});

test('300 fresh DS128 user keys from jwcrypto verify with ours', async (t) => {
  const options = (now: number) => optionsFor('idp.example', idp.publicKey, now);
  let accepted = 0;
  let shortY = 0;
  for (let i = 0; i < 300; i++) {
    const user = await jwcrypto.generateKeypair('DS128');
    const now = Date.now();
    const backed = await mint(idp, user, 'idp.example', `user${i}@idp.example`, now);
    const result = await checkBackedAssertion(backed, options(now));
    assert.ok(
      result.ok,
      `key ${i} (${JSON.stringify(user.publicKey.toSimpleObject())}): ${result.ok ? '' : result.reason}`,
    );
    if (result.ok && result.email === `user${i}@idp.example`) accepted++;
    // y written without leading zeros is the codec edge case the volume is for.
    if ((user.publicKey.toSimpleObject().y ?? '').length < 256) shortY++;
  }
  assert.equal(accepted, 300);
  t.diagnostic(`300 accepted; ${shortY} had a y of fewer than 256 hex digits`);
});

test("jwcrypto's secret keys import into ours (RS: n, e, d only) and what we sign verifies with jwcrypto", async () => {
  const cases: [JwAlgorithm, JwKeypair][] = [['RS256', idp]];
  for (const alg of ['RS64', 'RS128', 'DS128', 'DS256'] as const)
    cases.push([alg, await jwcrypto.generateKeypair(alg)]);
  const user = await jwcrypto.generateKeypair('DS128');

  for (const [alg, theirs] of cases) {
    const json = theirs.secretKey.toSimpleObject();
    if (alg.startsWith('RS')) assert.deepEqual(Object.keys(json).sort(), ['algorithm', 'd', 'e', 'n']);
    const secret = parseSecretKey(json);
    assert.equal(secret.alg, alg);
    assert.deepEqual(publicKeyOf(secret).json, theirs.publicKey.toSimpleObject(), `${alg} public half`);

    // A certificate signed by the imported key: jwcrypto checks it as a root certificate.
    const now = Date.now();
    const cert = certifyPublicKey(
      {
        issuer: 'imported.example',
        publicKey: ourKey(user.publicKey),
        principal: { email: 'lee@imported.example' },
        issuedAt: now - 1000,
        expiresAt: now + HOUR,
      },
      secret,
    );
    const payload = await jwcrypto.verify(cert, theirs.publicKey);
    assert.equal(payload.iss, 'imported.example', alg);
    assert.deepEqual(payload['public-key'], user.publicKey.toSimpleObject(), alg);

    // And an assertion signed by the imported key, under a jwcrypto certificate for it.
    const userCert = await jwcrypto.certify(
      {
        publicKey: theirs.publicKey,
        principal: { email: 'lee@idp.example' },
        issuer: 'idp.example',
        issuedAt: now - 1000,
        expiresAt: now + HOUR,
      },
      idp.secretKey,
    );
    const backed = bundle([userCert], createAssertion({ audience: RP, expiresAt: now + 60_000 }, secret));
    const checked = await jwcrypto.verifyBundle(backed, now, () => idp.publicKey);
    assert.equal(checked.assertion.audience, RP, alg);

    // Our written secret key (RS adds p, q) loads back into jwcrypto as the same key.
    assert.deepEqual(jwcrypto.loadSecretKey(secret.json).toSimpleObject(), json, `${alg} secret round trip`);
  }
});

test('RSA signatures that jwcrypto wrote one byte short (leading zero dropped) verify with ours', async () => {
  // jwcrypto writes the signature as a big integer, so 1 in 256 of them lose a leading zero byte. PKCS#1
  // v1.5 is deterministic: find a payload whose signature starts with 0x00, then let jwcrypto sign it.
  for (const keys of [bothSides(idp), bothSides(await jwcrypto.generateKeypair('RS128'))]) {
    const user = await jwcrypto.generateKeypair('DS128');
    const now = Date.now();
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const header = b64({ alg: keys.publicKey.alg });
    const payloadAt = (i: number) => ({
      iss: 'idp.example',
      iat: now - i,
      exp: now + HOUR,
      'public-key': user.publicKey.toSimpleObject(),
      principal: { email: 'zero@idp.example' },
    });
    let tries = 0;
    while (
      sign('sha256', Buffer.from(`${header}.${b64(payloadAt(tries))}`), keys.secretKey.keyObject)[0] !== 0
    ) {
      tries++;
      assert.ok(tries < 5000, 'no signature with a leading zero byte in 5000 tries');
    }
    const payload = payloadAt(tries);
    const cert = await jwcrypto.sign(payload, keys.jw.secretKey);
    assert.ok(cert.startsWith(`${header}.${b64(payload)}.`), 'jwcrypto signed the same input');
    const signatureBytes = Buffer.from(cert.split('.')[2] ?? '', 'base64url').length;
    assert.ok(signatureBytes < keys.publicKey.signatureBytes, `jwcrypto wrote ${signatureBytes} bytes`);

    const assertion = await jwcrypto.assert({ audience: RP, expiresAt: now + 60_000 }, user.secretKey);
    const backed = jwcrypto.bundle([cert], assertion);
    const result = await checkBackedAssertion(backed, optionsFor('idp.example', keys.jw.publicKey, now));
    assert.ok(result.ok, `${keys.publicKey.alg}: ${result.ok ? '' : result.reason}`);
  }
});
