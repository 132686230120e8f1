import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bundle, createAssertion } from '../../src/browserid/assertion.ts';
import { certifyPublicKey, type Principal } from '../../src/browserid/certificate.ts';
import { fail } from '../../src/browserid/errors.ts';
import { generateKeypair, type PublicKey, type SecretKey } from '../../src/browserid/keys.ts';
import {
  checkBackedAssertion,
  type IssuerDirectory,
  type VerifyOptions,
} from '../../src/browserid/verify.ts';

const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;
const AUD = 'https://rp.example';

const persona = generateKeypair('RS256');
const primary = generateKeypair('RS256');
const bigtent = generateKeypair('RS256');
const user = generateKeypair('DS128');

/** Support documents as a table: a key, a delegation, or disabled. */
type Doc = PublicKey | { authority: string } | 'disabled';
function directory(docs: Record<string, Doc>): IssuerDirectory & { lookups: string[] } {
  const lookups: string[] = [];
  const resolve = (domain: string): { key: PublicKey; authority: string } => {
    const seen: string[] = [];
    for (let current = domain; ;) {
      lookups.push(current);
      if (seen.includes(current)) fail('delegation-loop', 'Circular reference in delegating authority');
      seen.push(current);
      const doc = docs[current];
      if (doc === undefined) fail('discovery-failed', `${current} is not a browserid primary`);
      if (doc === 'disabled') fail('no-public-key', `${current} has disabled browserid support`);
      if ('authority' in doc) current = doc.authority;
      else return { key: doc, authority: current };
    }
  };
  return {
    lookups,
    publicKeyOf: (issuer) => Promise.resolve().then(() => resolve(issuer).key),
    authorityOf: (domain) => Promise.resolve().then(() => resolve(domain).authority),
  };
}

const docs = {
  'example.com': primary.publicKey,
  'delegator.com': { authority: 'bigtent.example' },
  'bigtent.example': bigtent.publicKey,
  'off.example': 'disabled' as const,
  'loop-a.example': { authority: 'loop-b.example' },
  'loop-b.example': { authority: 'loop-a.example' },
};

interface Mint {
  issuer?: string;
  issuerKey?: SecretKey;
  principal?: Principal | Record<string, unknown>;
  certIat?: number;
  certExp?: number | null;
  audience?: string;
  assertionIat?: number;
  assertionExp?: number | null;
  userKey?: SecretKey;
  publicKey?: PublicKey;
}

function mint(m: Mint = {}): string {
  const cert = certifyPublicKey(
    {
      issuer: m.issuer ?? 'example.com',
      publicKey: m.publicKey ?? user.publicKey,
      principal: m.principal ?? { email: 'alice@example.com' },
      issuedAt: m.certIat ?? NOW - 1000,
      expiresAt: (m.certExp === null ? undefined : (m.certExp ?? NOW + HOUR)) as number,
    },
    m.issuerKey ?? primary.secretKey,
  );
  const assertion = createAssertion(
    {
      audience: m.audience ?? AUD,
      expiresAt: (m.assertionExp === null ? undefined : (m.assertionExp ?? NOW + 120_000)) as number,
      ...(m.assertionIat === undefined ? {} : { issuedAt: m.assertionIat }),
    },
    m.userKey ?? user.secretKey,
  );
  return bundle([cert], assertion);
}

const options = (extra: Partial<VerifyOptions> = {}): VerifyOptions => ({
  audience: AUD,
  directory: directory(docs),
  fallbackIssuer: 'login.persona.example',
  fallbackKey: persona.publicKey,
  now: NOW,
  ...extra,
});

async function reason(backed: unknown, extra: Partial<VerifyOptions> = {}): Promise<string> {
  const result = await checkBackedAssertion(backed, options(extra));
  assert.equal(result.ok, false, 'expected a failure');
  return result.ok ? '' : result.reason;
}

test('a primary certifying its own domain verifies: email, audience as sent, assertion expiry, issuer', async () => {
  const result = await checkBackedAssertion(mint(), options({ audience: 'rp.example:443' }));
  assert.deepEqual(result, {
    ok: true,
    email: 'alice@example.com',
    verified: true,
    audience: 'rp.example:443',
    expires: NOW + 120_000,
    issuer: 'example.com',
  });
});

test('the fallback issuer may certify any domain, with its local key', async () => {
  const dir = directory(docs);
  const backed = mint({
    issuer: 'login.persona.example',
    issuerKey: persona.secretKey,
    principal: { email: 'bob@gmail.example' },
  });
  const result = await checkBackedAssertion(backed, options({ directory: dir }));
  assert.equal(result.ok, true);
  assert.deepEqual(dir.lookups, [], 'no lookup for the fallback');
  // Without the local key it is looked up like any issuer.
  const fetched = await checkBackedAssertion(
    backed,
    options({ fallbackKey: undefined, directory: directory({ 'login.persona.example': persona.publicKey }) }),
  );
  assert.equal(fetched.ok, true);
});

test('a forced issuer is an alias of the fallback only when the caller asks for it', async () => {
  const backed = mint({
    issuer: 'fxos.persona.example',
    issuerKey: persona.secretKey,
    principal: { email: 'c@other.example' },
  });
  assert.equal(
    (await checkBackedAssertion(backed, options({ forcedIssuer: 'fxos.persona.example' }))).ok,
    true,
  );
  assert.match(await reason(backed), /^can't get public key for fxos\.persona\.example: /);
});

test('a delegated issuer speaks for the delegating domain; another issuer may not', async () => {
  const delegated = mint({
    issuer: 'bigtent.example',
    issuerKey: bigtent.secretKey,
    principal: { email: 'd@delegator.com' },
  });
  assert.equal((await checkBackedAssertion(delegated, options())).ok, true);
  const rogue = mint({
    issuer: 'bigtent.example',
    issuerKey: bigtent.secretKey,
    principal: { email: 'e@example.com' },
  });
  assert.equal(await reason(rogue), "issuer 'bigtent.example' may not speak for emails from 'example.com'");
  const unknown = mint({
    issuer: 'bigtent.example',
    issuerKey: bigtent.secretKey,
    principal: { email: 'e@nowhere.example' },
  });
  assert.equal(
    await reason(unknown),
    "issuer 'bigtent.example' may not speak for emails from 'nowhere.example'",
  );
});

test('a disabled domain cannot certify, and a delegation loop gives no key', async () => {
  const off = mint({ issuer: 'off.example', principal: { email: 'f@off.example' } });
  assert.equal(
    await reason(off),
    "can't get public key for off.example: off.example has disabled browserid support",
  );
  const loop = mint({ issuer: 'loop-a.example', principal: { email: 'g@loop-a.example' } });
  assert.match(await reason(loop), /^can't get public key for loop-a\.example: Circular reference/);
});

test('time rules: expired, issued in the future, and missing exp (SPEC §4.1) for certificate and assertion', async () => {
  assert.equal(await reason(mint({ certExp: NOW - 1 })), 'assertion has expired');
  assert.equal(await reason(mint({ assertionExp: NOW - 1 })), 'assertion has expired');
  assert.equal(await reason(mint({ certIat: NOW + 1 })), 'assertion issued later than verification date');
  assert.equal(
    await reason(mint({ assertionIat: NOW + 1 })),
    'assertion issued later than verification date',
  );
  assert.equal(await reason(mint({ certExp: null })), 'assertion has no expiration date');
  assert.equal(await reason(mint({ assertionExp: null })), 'assertion has no expiration date');
  // The boundary: expiring exactly now is still valid, as the original compared exp < now.
  assert.equal((await checkBackedAssertion(mint({ assertionExp: NOW }), options())).ok, true);
});

test('audience mismatch by scheme, host and port', async () => {
  assert.equal(await reason(mint({ audience: 'http://rp.example' })), 'audience mismatch: scheme mismatch');
  assert.equal(
    await reason(mint({ audience: 'https://rp.example:8443' })),
    'audience mismatch: port mismatch',
  );
  assert.equal(
    await reason(mint({ audience: 'https://evil.example' })),
    'audience mismatch: domain mismatch',
  );
  assert.equal(await reason(mint(), { audience: 'a:b:c' }), 'malformed domain');
});

test('principals: unverified only when allowed, missing and invalid emails refused', async () => {
  const unverified = mint({
    issuer: 'login.persona.example',
    issuerKey: persona.secretKey,
    principal: { unverifiedEmail: 'h@x.example' },
  });
  assert.equal(await reason(unverified), 'unverified email');
  const allowed = await checkBackedAssertion(unverified, options({ allowUnverified: true }));
  assert.ok(allowed.ok);
  assert.equal(allowed.email, 'h@x.example');
  assert.equal(allowed.verified, false);
  assert.equal(await reason(mint({ principal: {} })), 'missing email');
  assert.equal(await reason(mint({ principal: { email: 'not-an-email' } })), 'invalid email');
});

test('signatures: tampered certificate or assertion, wrong user key, alg not matching the key', async () => {
  const backed = mint();
  const [cert, assertion] = backed.split('~') as [string, string];
  const [h, p, s] = cert.split('.') as [string, string, string];
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
  payload.principal.email = 'mallory@example.com';
  const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
  assert.equal(await reason(`${forged}~${assertion}`), 'bad signature in chain');
  const [ah, ap, as] = assertion.split('.') as [string, string, string];
  const flipped = Buffer.from(as, 'base64url');
  flipped[5] = (flipped[5] ?? 0) ^ 1;
  assert.equal(
    await reason(`${cert}~${ah}.${ap}.${flipped.toString('base64url')}`),
    'bad signature in chain',
  );
  // The assertion signed by another user key than the certified one.
  assert.equal(await reason(mint({ userKey: generateKeypair('DS128').secretKey })), 'bad signature in chain');
  // A certificate signed by an RS128 key while the issuer publishes RS256.
  assert.equal(
    await reason(mint({ issuerKey: generateKeypair('RS128').secretKey })),
    'bad signature in chain',
  );
  // The right signature bytes under a header naming another algorithm.
  const relabelled = `${Buffer.from('{"alg":"RS128"}').toString('base64url')}.${p}.${s}`;
  assert.equal(await reason(`${relabelled}~${assertion}`), 'bad signature in chain');
});

test('structure: no certificates, chains longer than one, garbage', async () => {
  const backed = mint();
  const [cert, assertion] = backed.split('~') as [string, string];
  assert.equal(await reason(assertion), 'no certificates provided');
  assert.equal(await reason(`${cert}~${cert}~${assertion}`), 'certificate chaining is not yet allowed');
  assert.equal(await reason(42), 'malformed backed assertion');
  assert.equal(await reason(''), 'malformed backed assertion');
  assert.equal(await reason('x'.repeat(100_000)), 'malformed backed assertion');
  assert.equal(await reason(`garbage~${assertion}`), 'malformed signature');
  assert.equal(await reason(`${cert}~garbage`), 'malformed signature');
});

const sameBytes = (a: string, b: string): boolean => {
  const bytes = (x: string) =>
    /^[A-Za-z0-9_.~-]*$/.test(x)
      ? x
          .split(/([.~])/)
          .map((seg) => (seg.length > 1 ? Buffer.from(seg, 'base64url').toString('hex') : seg))
          .join('')
      : x;
  return bytes(a) === bytes(b);
};

test('random and mutated input never throws and never verifies', async () => {
  const backed = mint();
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const alphabet = 'abcAZ09-_.~={}":,';
  for (let i = 0; i < 500; i++) {
    const chars = backed.split('');
    const edits = 1 + Math.floor(random() * 4);
    for (let e = 0; e < edits; e++)
      chars[Math.floor(random() * chars.length)] = alphabet[Math.floor(random() * alphabet.length)]!;
    const mutated = chars.join('');
    // An edit of a segment's last character may touch only unused padding bits: same bytes, still valid.
    if (sameBytes(mutated, backed)) continue;
    const result = await checkBackedAssertion(mutated, options());
    assert.equal(result.ok, false, mutated);
    assert.notEqual(result.ok ? '' : result.code, 'internal-error', mutated);
  }
});
