/**
 * Interop, ours → theirs: the keys, certificates, assertions and support documents we produce are
 * accepted by jwcrypto's cert.verifyBundle and by browserid-local-verify's verify(), the libraries
 * Mozilla's own verifiers and relying parties ran.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bundle, createAssertion } from '../../src/browserid/assertion.ts';
import { certifyPublicKey } from '../../src/browserid/certificate.ts';
import { generateKeypair, type AlgorithmLabel, type Keypair } from '../../src/browserid/keys.ts';
import { parseSupportDocument, supportDocumentFor } from '../../src/browserid/support-document.ts';
import { verifyBackedAssertion } from '../../src/browserid/verify.ts';
import { fromOurs, jwcrypto, localVerify, tableDirectory, type Fetch } from '../helpers/jwcrypto.ts';

const RP = 'https://rp.example:8443';
const HOUR = 3_600_000;
const PATHS = { authentication: '/browserid/auth', provisioning: '/browserid/provision' };

const domainKey = generateKeypair('RS256');

/** What our keysigner and dialog would produce: a certificate for `email` and a fresh assertion. */
function mint(issuer: Keypair, user: Keypair, domain: string, email: string, now: number): string {
  const cert = certifyPublicKey(
    {
      issuer: domain,
      publicKey: user.publicKey,
      principal: { email },
      issuedAt: now - 1000,
      expiresAt: now + HOUR,
    },
    issuer.secretKey,
  );
  const assertion = createAssertion(
    { audience: RP, issuedAt: now - 1000, expiresAt: now + 120_000 },
    user.secretKey,
  );
  return bundle([cert], assertion);
}

test('our bundles for user keys of every algorithm verify with jwcrypto and local-verify', async () => {
  const documents = { 'persona.example': supportDocumentFor(domainKey.publicKey, PATHS) };
  for (const alg of ['RS64', 'RS128', 'RS256', 'DS128', 'DS256'] as const) {
    const user = generateKeypair(alg);
    const now = Date.now();
    const email = `${alg.toLowerCase()}@persona.example`;
    const backed = mint(domainKey, user, 'persona.example', email, now);

    const root = jwcrypto.loadPublicKey(domainKey.publicKey.json);
    const checked = await jwcrypto.verifyBundle(backed, now, (issuer) => {
      assert.equal(issuer, 'persona.example');
      return root;
    });
    assert.equal(checked.certificates, 1);
    assert.equal(checked.assertion.audience, RP);
    assert.equal(checked.assertion.expiresAt?.valueOf(), now + 120_000);

    const log: Fetch[] = [];
    const result = await localVerify.verify({
      assertion: backed,
      audience: RP,
      documents,
      log,
      now: new Date(now),
    });
    assert.deepEqual(
      {
        email: result.email,
        issuer: result.issuer,
        audience: result.audience,
        expires: result.expires.valueOf(),
      },
      { email, issuer: 'persona.example', audience: RP, expires: now + 120_000 },
      alg,
    );
    // It asked our domain for its document, naming the principal's domain, as the protocol says.
    assert.deepEqual(log[0], {
      domain: 'persona.example',
      path: '/.well-known/browserid?domain=persona.example',
    });
    // Our key JSON is what jwcrypto reads and writes back.
    assert.deepEqual(jwcrypto.loadPublicKey(user.publicKey.json).toSimpleObject(), user.publicKey.json);
    assert.equal(jwcrypto.loadPublicKey(user.publicKey.json).getAlgorithm(), alg);
  }
});

test('our domain keys of the other algorithms (RS128, DS128, DS256) verify with local-verify', async () => {
  const user = generateKeypair('DS128');
  for (const alg of ['RS128', 'DS128', 'DS256'] satisfies AlgorithmLabel[]) {
    const issuer = generateKeypair(alg);
    const documents = { 'small.example': supportDocumentFor(issuer.publicKey, PATHS) };
    const now = Date.now();
    const backed = mint(issuer, user, 'small.example', 'kim@small.example', now);
    const result = await localVerify.verify({
      assertion: backed,
      audience: RP,
      documents,
      now: new Date(now),
    });
    assert.equal(result.email, 'kim@small.example', alg);
    // Another domain's key in the document: local-verify must refuse, so the acceptance above means something.
    const impostor = { 'small.example': supportDocumentFor(domainKey.publicKey, PATHS) };
    await assert.rejects(
      localVerify.verify({ assertion: backed, audience: RP, documents: impostor, now: new Date(now) }),
      /algorithms do not match|invalid signature/,
      alg,
    );
  }
});

test('300 fresh DS128 keys of ours verify with jwcrypto (and local-verify)', async (t) => {
  const root = jwcrypto.loadPublicKey(domainKey.publicKey.json);
  const documents = { 'persona.example': supportDocumentFor(domainKey.publicKey, PATHS) };
  let jwAccepted = 0;
  let localAccepted = 0;
  for (let i = 0; i < 300; i++) {
    const user = generateKeypair('DS128');
    const now = Date.now();
    const backed = mint(domainKey, user, 'persona.example', `user${i}@persona.example`, now);
    const checked = await jwcrypto
      .verifyBundle(backed, now, () => root)
      .catch((err: unknown) => {
        assert.fail(`key ${i} ${JSON.stringify(user.publicKey.json)}: ${String(err)}`);
      });
    if (checked.assertion.audience === RP) jwAccepted++;
    const result = await localVerify.verify({
      assertion: backed,
      audience: RP,
      documents,
      now: new Date(now),
    });
    if (result.email === `user${i}@persona.example`) localAccepted++;
  }
  assert.equal(jwAccepted, 300);
  assert.equal(localAccepted, 300);
  t.diagnostic('300 of 300 accepted by jwcrypto and by local-verify');
});

test('our secret key files load into jwcrypto, and what it signs with them verifies with ours', async () => {
  for (const alg of ['RS256', 'DS128', 'DS256'] satisfies AlgorithmLabel[]) {
    const issuer = fromOurs(generateKeypair(alg));
    const user = generateKeypair('DS128');
    const now = Date.now();
    const cert = await jwcrypto.certify(
      {
        publicKey: jwcrypto.loadPublicKey(user.publicKey.json),
        principal: { email: 'max@persona.example' },
        issuer: 'persona.example',
        issuedAt: now - 1000,
        expiresAt: now + HOUR,
      },
      issuer.jw.secretKey,
    );
    const backed = bundle([cert], createAssertion({ audience: RP, expiresAt: now + 60_000 }, user.secretKey));
    const result = await verifyBackedAssertion(backed, {
      audience: RP,
      directory: tableDirectory({ 'persona.example': supportDocumentFor(issuer.publicKey, PATHS) }),
      now,
    });
    assert.equal(result.email, 'max@persona.example', alg);
  }
});

test("support-document paths: a '#' passes our parser but local-verify 0.5.2 refuses it", async () => {
  // Why our deployments publish plain paths (docs/protocol.md): Mozilla's verifier libraries must accept us.
  const now = Date.now();
  const user = generateKeypair('DS128');
  const backed = mint(domainKey, user, 'persona.example', 'ned@persona.example', now);
  const native = supportDocumentFor(domainKey.publicKey, {
    authentication: '/auth#native',
    provisioning: '/provision',
  });
  assert.equal(parseSupportDocument(native).kind, 'supported');
  await assert.rejects(
    localVerify.verify({
      assertion: backed,
      audience: RP,
      documents: { 'persona.example': native },
      now: new Date(now),
    }),
    /invalid path/,
  );
});
