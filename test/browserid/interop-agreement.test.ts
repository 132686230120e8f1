/**
 * Interop, both verifiers on the same input: every case is minted twice (by our signer and by jwcrypto)
 * and judged twice (by our verifyBackedAssertion and by browserid-local-verify), against one table of
 * support documents. Good cases must pass on both sides; the negative cases of issue 2 must fail on both,
 * ours with the original's reason string. Where ours differs on purpose (SPEC §4.1, or Persona's rules
 * where local-verify, written later for Firefox Accounts, changed them), the case says so and pins both.
 * Our verifier gets the documents through the table directory (the original's discovery rules); the last
 * test feeds the same documents to our real discovery over HTTPS and compares it with local-verify's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { bundle, createAssertion } from '../../src/browserid/assertion.ts';
import { certifyPublicKey } from '../../src/browserid/certificate.ts';
import { signJws } from '../../src/browserid/jws.ts';
import type { SecretKey } from '../../src/browserid/keys.ts';
import { supportDocumentFor } from '../../src/browserid/support-document.ts';
import { checkBackedAssertion } from '../../src/browserid/verify.ts';
import { createDiscovery } from '../../src/browserid/discovery.ts';
import {
  bothSides,
  jwcrypto,
  localVerify,
  PeerError,
  tableDirectory,
  type BothKeys,
  type Documents,
} from '../helpers/jwcrypto.ts';
import { loopbackAgent, makeTestPki, startIdpServer } from '../helpers/idp-servers.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const RP = 'https://rp.example';
const now = Date.now();

// jwcrypto makes every key, so both minters can sign with the same ones (ours imports them).
const [idp, other, fallback, user, stranger, intermediate] = await Promise.all([
  jwcrypto.generateKeypair('RS256').then(bothSides),
  jwcrypto.generateKeypair('DS256').then(bothSides),
  jwcrypto.generateKeypair('RS128').then(bothSides),
  jwcrypto.generateKeypair('DS128').then(bothSides),
  jwcrypto.generateKeypair('DS128').then(bothSides),
  jwcrypto.generateKeypair('DS128').then(bothSides),
]);

const supported = (keys: BothKeys) =>
  supportDocumentFor(keys.publicKey, { authentication: '/auth', provisioning: '/provision' });

const WORLD: Documents = {
  'idp.example': supported(idp),
  'other.example': supported(other),
  'login.persona.example': supported(fallback),
  'delegator.example': { authority: 'idp.example' },
  'disabled.example': { disabled: true },
  // Key rotation as local-verify reads it: a list of keys, no 'public-key'.
  'rotated.example': { keys: [idp.publicKey.json], authentication: '/auth', provisioning: '/provision' },
  'loop-a.example': { authority: 'loop-b.example' },
  'loop-b.example': { authority: 'loop-a.example' },
  // hop1 → hop2 → … → hop6 → idp: seven domains from hop1 (too many), six from hop2 (the limit).
  ...Object.fromEntries(
    [1, 2, 3, 4, 5, 6].map((i) => [
      `hop${i}.example`,
      { authority: i < 6 ? `hop${i + 1}.example` : 'idp.example' },
    ]),
  ),
  // plain.example and nowhere.example publish nothing (404).
};

// ---- two minters ------------------------------------------------------------------------------------

interface CertSpec {
  issuer: string;
  subject: BothKeys;
  principal?: Record<string, string>;
  issuedAt?: number;
  expiresAt?: number;
  extra?: Record<string, unknown>;
}
interface AssertionSpec {
  audience: string;
  issuedAt?: number;
  expiresAt?: number;
}
interface Minter {
  readonly name: string;
  certify(spec: CertSpec, issuerKey: BothKeys): Promise<string>;
  assert(spec: AssertionSpec, userKey: BothKeys): Promise<string>;
}

const ours: Minter = {
  name: 'ours',
  certify(spec, issuerKey) {
    const p = spec.principal ?? {};
    const standard =
      spec.issuedAt !== undefined &&
      spec.expiresAt !== undefined &&
      !spec.extra &&
      Object.keys(p).length === 1 &&
      (p.email !== undefined || p['unverified-email'] !== undefined);
    if (standard)
      return Promise.resolve(
        certifyPublicKey(
          {
            issuer: spec.issuer,
            publicKey: spec.subject.publicKey,
            principal:
              p.email !== undefined ? { email: p.email } : { unverifiedEmail: p['unverified-email'] },
            issuedAt: spec.issuedAt ?? 0,
            expiresAt: spec.expiresAt ?? 0,
          },
          issuerKey.secretKey,
        ),
      );
    // Shapes our API will not make on purpose (no exp, `sub` instead of a principal): the raw signer.
    return Promise.resolve(
      signJws(
        {
          ...spec.extra,
          iss: spec.issuer,
          iat: spec.issuedAt,
          exp: spec.expiresAt,
          'public-key': spec.subject.publicKey.json,
          principal: spec.principal,
        },
        issuerKey.secretKey,
      ),
    );
  },
  assert(spec, userKey) {
    if (spec.expiresAt === undefined)
      return Promise.resolve(signJws({ aud: spec.audience, iat: spec.issuedAt }, userKey.secretKey));
    return Promise.resolve(
      createAssertion(
        { audience: spec.audience, expiresAt: spec.expiresAt, issuedAt: spec.issuedAt },
        userKey.secretKey,
      ),
    );
  },
};

const theirs: Minter = {
  name: 'jwcrypto',
  certify: (spec, issuerKey) =>
    jwcrypto.certify(
      {
        publicKey: spec.subject.jw.publicKey,
        principal: spec.principal,
        issuer: spec.issuer,
        issuedAt: spec.issuedAt,
        expiresAt: spec.expiresAt,
        extra: spec.extra,
      },
      issuerKey.jw.secretKey,
    ),
  assert: (spec, userKey) => jwcrypto.assert(spec, userKey.jw.secretKey),
};

// ---- mutations ----------------------------------------------------------------------------------------

const segments = (jws: string): [string, string, string] => {
  const [h = '', p = '', s = ''] = jws.split('.');
  return [h, p, s];
};

/** Flips one character in the middle of the signature (never the last one, whose low bits are padding). */
function tamperSignature(jws: string): string {
  const [h, p, s] = segments(jws);
  const i = Math.floor(s.length / 2);
  return `${h}.${p}.${s.slice(0, i)}${s[i] === 'A' ? 'B' : 'A'}${s.slice(i + 1)}`;
}

/** Rewrites the payload, keeping the original signature. */
function tamperPayload(jws: string, change: (payload: Record<string, unknown>) => void): string {
  const [h, p, s] = segments(jws);
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  change(payload);
  return `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
}

/** A header naming another algorithm over a signature that is otherwise valid for the real key. */
function relabel(jws: string, alg: string, key: SecretKey): string {
  const [, p] = segments(jws);
  const input = `${Buffer.from(JSON.stringify({ alg })).toString('base64url')}.${p}`;
  const signature = sign(key.hash, Buffer.from(input), { key: key.keyObject, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

// ---- the cases --------------------------------------------------------------------------------------

interface Mint {
  cert?: Partial<CertSpec>;
  assertion?: Partial<AssertionSpec>;
  issuerKey?: BothKeys;
  userKey?: BothKeys;
  mutateCert?: (cert: string) => string;
  mutateAssertion?: (assertion: string) => string;
}

/** alice@idp.example, certified for an hour by idp.example, asserting to RP for two minutes. */
async function standard(m: Minter, mint: Mint = {}): Promise<string> {
  const cert = await m.certify(
    {
      issuer: 'idp.example',
      subject: user,
      principal: { email: 'alice@idp.example' },
      issuedAt: now - MIN,
      expiresAt: now + HOUR,
      ...mint.cert,
    },
    mint.issuerKey ?? idp,
  );
  const assertion = await m.assert(
    { audience: RP, expiresAt: now + 2 * MIN, ...mint.assertion },
    mint.userKey ?? user,
  );
  return bundle([mint.mutateCert?.(cert) ?? cert], mint.mutateAssertion?.(assertion) ?? assertion);
}

interface Case {
  readonly name: string;
  readonly make: (m: Minter) => Promise<string>;
  /** What the relying party asks for; RP by default. */
  readonly audience?: string;
  /** Our fallback issuer and local-verify's `fallback`. */
  readonly fallback?: string;
  /** Our expected reason; null: we accept. */
  readonly ours: string | null;
  /** local-verify's expected failure message; null: it accepts. */
  readonly theirs: RegExp | null;
}

const emailOf = (email: string): Mint => ({ cert: { principal: { email } } });
const untrusted = (expected: string, got: string) =>
  new RegExp(`^untrusted issuer, expected '${expected}', got '${got}'$`);

const cases: Case[] = [
  // Controls: the fixtures are sound, so a failure below is about the rule under test.
  { name: 'a good assertion', make: (m) => standard(m), ours: null, theirs: null },
  {
    name: 'a delegating domain: idp.example speaks for delegator.example',
    make: (m) => standard(m, emailOf('bob@delegator.example')),
    ours: null,
    theirs: null,
  },
  {
    name: 'the fallback issuer speaks for a domain without support',
    make: (m) =>
      standard(m, {
        cert: { issuer: 'login.persona.example', principal: { email: 'carol@plain.example' } },
        issuerKey: fallback,
      }),
    fallback: 'login.persona.example',
    ours: null,
    theirs: null,
  },
  {
    name: 'five delegations (six domains) are within the limit',
    make: (m) => standard(m, emailOf('dan@hop2.example')),
    ours: null,
    theirs: null,
  },

  // Time rules.
  {
    name: 'expired certificate',
    make: (m) => standard(m, { cert: { issuedAt: now - 2 * HOUR, expiresAt: now - 1 } }),
    ours: 'assertion has expired',
    theirs: /^expired$/,
  },
  {
    name: 'expired assertion',
    make: (m) => standard(m, { assertion: { expiresAt: now - 1 } }),
    ours: 'assertion has expired',
    theirs: /^expired$/,
  },
  {
    name: 'certificate iat in the future',
    make: (m) => standard(m, { cert: { issuedAt: now + MIN } }),
    ours: 'assertion issued later than verification date',
    theirs: /^issued later than verification date$/,
  },
  {
    name: 'assertion iat in the future',
    make: (m) => standard(m, { assertion: { issuedAt: now + MIN } }),
    ours: 'assertion issued later than verification date',
    theirs: /^issued later than verification date$/,
  },

  // Audience.
  {
    name: 'audience mismatch by scheme',
    make: (m) => standard(m),
    audience: 'http://rp.example',
    ours: 'audience mismatch: scheme mismatch',
    theirs: /^audience mismatch: scheme mismatch$/,
  },
  {
    name: 'audience mismatch by port',
    make: (m) => standard(m),
    audience: 'https://rp.example:8443',
    ours: 'audience mismatch: port mismatch',
    theirs: /^audience mismatch: port mismatch$/,
  },
  {
    name: 'audience mismatch by host',
    make: (m) => standard(m),
    audience: 'https://evil.example',
    ours: 'audience mismatch: domain mismatch',
    theirs: /^audience mismatch: domain mismatch$/,
  },

  // Issuer authority.
  {
    name: 'issuer not authoritative: the email domain has its own IdP',
    make: (m) => standard(m, emailOf('erin@other.example')),
    ours: "issuer 'idp.example' may not speak for emails from 'other.example'",
    theirs: untrusted('other.example', 'idp.example'),
  },
  {
    name: 'issuer not authoritative: the email domain publishes nothing and there is no fallback',
    make: (m) => standard(m, emailOf('frank@nowhere.example')),
    ours: "issuer 'idp.example' may not speak for emails from 'nowhere.example'",
    theirs: untrusted('undefined', 'idp.example'),
  },
  {
    name: 'disabled domain: no IdP speaks for it',
    make: (m) => standard(m, emailOf('gina@disabled.example')),
    ours: "issuer 'idp.example' may not speak for emails from 'disabled.example'",
    theirs: untrusted('disabled.example', 'idp.example'),
  },
  {
    name: 'disabled domain as the issuer: it has no key',
    make: (m) =>
      standard(m, { cert: { issuer: 'disabled.example', principal: { email: 'gina@disabled.example' } } }),
    ours: "can't get public key for disabled.example: browserid support is disabled for disabled.example",
    // local-verify hands jwcrypto an undefined key and fails on it.
    theirs: /getAlgorithm/,
  },
  {
    name: 'delegation loop on the email domain',
    make: (m) => standard(m, emailOf('hal@loop-a.example')),
    ours: "issuer 'idp.example' may not speak for emails from 'loop-a.example'",
    theirs: untrusted('undefined', 'idp.example'),
  },
  {
    name: 'delegation loop on the issuer',
    make: (m) =>
      standard(m, { cert: { issuer: 'loop-a.example', principal: { email: 'hal@loop-a.example' } } }),
    ours: "can't get public key for loop-a.example: Circular reference in delegating authority: loop-a.example > loop-b.example",
    theirs: /^Circular reference in delegating authority: loop-a\.example > loop-b\.example$/,
  },
  {
    name: 'six delegations (seven domains) are too many',
    make: (m) => standard(m, emailOf('ivy@hop1.example')),
    ours: "issuer 'idp.example' may not speak for emails from 'hop1.example'",
    theirs: untrusted('undefined', 'idp.example'),
  },

  // Structure and signatures.
  {
    name: 'a chain of two certificates',
    make: async (m) => {
      const principal = { email: 'alice@idp.example' };
      const times = { issuedAt: now - MIN, expiresAt: now + HOUR };
      const first = await m.certify(
        { issuer: 'idp.example', subject: intermediate, principal, ...times },
        idp,
      );
      const second = await m.certify(
        { issuer: 'alice@idp.example', subject: user, principal, ...times },
        intermediate,
      );
      const assertion = await m.assert({ audience: RP, expiresAt: now + 2 * MIN }, user);
      return bundle([first, second], assertion);
    },
    ours: 'certificate chaining is not yet allowed',
    theirs: /^certificate chaining is not yet allowed$/,
  },
  {
    name: 'tampered certificate signature',
    make: (m) => standard(m, { mutateCert: tamperSignature }),
    ours: 'bad signature in chain',
    theirs: /^invalid signature$/,
  },
  {
    name: 'tampered certificate payload (another email)',
    make: (m) =>
      standard(m, {
        mutateCert: (cert) =>
          tamperPayload(cert, (p) => {
            p.principal = { email: 'mallory@idp.example' };
          }),
      }),
    ours: 'bad signature in chain',
    theirs: /^invalid signature$/,
  },
  {
    name: 'tampered assertion signature',
    make: (m) => standard(m, { mutateAssertion: tamperSignature }),
    ours: 'bad signature in chain',
    theirs: /^invalid signature$/,
  },
  {
    name: 'assertion signed by a key the certificate does not name',
    make: (m) => standard(m, { userKey: stranger }),
    ours: 'bad signature in chain',
    theirs: /^invalid signature$/,
  },
  {
    name: "certificate alg does not match the issuer's key (RS128 header, valid RS256 signature)",
    make: (m) => standard(m, { mutateCert: (cert) => relabel(cert, 'RS128', idp.secretKey) }),
    ours: 'bad signature in chain',
    theirs: /^algorithms do not match$/,
  },
  {
    name: "assertion alg does not match the user's key (DS256 header, valid DS128 signature)",
    make: (m) => standard(m, { mutateAssertion: (a) => relabel(a, 'DS256', user.secretKey) }),
    ours: 'bad signature in chain',
    theirs: /^algorithms do not match$/,
  },
  {
    name: 'a certificate for an unverified email',
    make: (m) => standard(m, { cert: { principal: { 'unverified-email': 'alice@idp.example' } } }),
    ours: 'unverified email',
    theirs: /^untrusted assertion, doesn't contain an email/,
  },

  // Deliberate differences (docs/protocol.md): each side's behaviour pinned.
  {
    name: 'SPEC §4.1: a certificate without exp (local-verify accepts it)',
    make: (m) => standard(m, { cert: { expiresAt: undefined } }),
    ours: 'assertion has no expiration date',
    theirs: null,
  },
  {
    name: 'SPEC §4.1: an assertion without exp (local-verify accepts it)',
    make: (m) => standard(m, { assertion: { expiresAt: undefined } }),
    ours: 'assertion has no expiration date',
    theirs: null,
  },
  {
    name: "Persona's rule: a `sub` claim is no principal (local-verify, made for FxA, accepts it)",
    make: (m) => standard(m, { cert: { principal: undefined, extra: { sub: 'alice@idp.example' } } }),
    ours: 'missing email',
    theirs: null,
  },
  {
    name: "Persona's rule: an RP naming only the host compares only the host (local-verify assumes http)",
    make: (m) => standard(m),
    audience: 'rp.example',
    ours: null,
    theirs: /^audience mismatch: scheme mismatch$/,
  },
  {
    name: "Persona's rule: a document must have 'public-key' (local-verify also reads a `keys` list)",
    make: (m) =>
      standard(m, { cert: { issuer: 'rotated.example', principal: { email: 'kay@rotated.example' } } }),
    ours: "can't get public key for rotated.example: malformed support document: missing 'public-key'",
    theirs: null,
  },
  {
    name: "Persona's rule: the fallback speaks for a disabled domain (local-verify refuses)",
    make: (m) =>
      standard(m, {
        cert: { issuer: 'login.persona.example', principal: { email: 'gina@disabled.example' } },
        issuerKey: fallback,
      }),
    fallback: 'login.persona.example',
    ours: null,
    theirs: untrusted('disabled.example', 'login.persona.example'),
  },
];

for (const c of cases) {
  test(c.name, async (t) => {
    for (const minter of [ours, theirs]) {
      await t.test(`minted by ${minter.name}`, async (st) => {
        const backed = await c.make(minter);
        const audience = c.audience ?? RP;

        const mine = await checkBackedAssertion(backed, {
          audience,
          directory: tableDirectory(WORLD),
          fallbackIssuer: c.fallback,
          now,
        });
        const peer = await localVerify
          .verify({ assertion: backed, audience, documents: WORLD, fallback: c.fallback, now: new Date(now) })
          .then(
            (result) => ({ ok: true as const, result }),
            (err: unknown) => {
              assert.ok(err instanceof PeerError, String(err));
              return { ok: false as const, message: err.message };
            },
          );
        st.diagnostic(
          `ours: ${mine.ok ? 'ok' : mine.reason} | local-verify: ${peer.ok ? 'ok' : peer.message}`,
        );

        if (c.ours === null) {
          assert.ok(mine.ok, mine.ok ? '' : `ours refused: ${mine.reason}`);
        } else {
          assert.equal(mine.ok, false, 'ours accepted');
          if (!mine.ok) assert.equal(mine.reason, c.ours);
        }
        if (c.theirs === null) {
          assert.ok(peer.ok, peer.ok ? '' : `local-verify refused: ${peer.message}`);
        } else {
          assert.equal(peer.ok, false, 'local-verify accepted');
          if (!peer.ok) assert.match(peer.message, c.theirs);
        }
        // Where both accept, they must agree on who and for how long.
        if (mine.ok && peer.ok) {
          assert.equal(mine.email, peer.result.email);
          assert.equal(mine.issuer, peer.result.issuer);
          assert.equal(mine.expires, peer.result.expires.valueOf());
        }
      });
    }
  });
}

/** What a lookup came to: the authoritative domain, null for a disabled domain, or the failure message. */
type Resolution = string | null;
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const DOMAINS = [...Object.keys(WORLD), 'plain.example'];

async function localVerifyResolution(domain: string): Promise<Resolution> {
  return localVerify
    .lookup(domain, WORLD)
    .then((details) => (details.disabled ? null : details.authoritativeDomain), messageOf);
}

/** Our resolution of `domain` must be local-verify's, but for the deliberate differences above. */
function assertSameResolution(domain: string, mine: Resolution, peer: Resolution): void {
  if (domain === 'rotated.example') {
    // Persona's rule: no 'public-key', no support; local-verify takes the `keys` list.
    assert.match(String(mine), /missing 'public-key'/);
    assert.equal(peer, 'rotated.example');
  } else {
    assert.equal(mine, peer, domain);
  }
}

test('the table directory resolves the shared documents as local-verify does', async () => {
  const directory = tableDirectory(WORLD);
  for (const domain of DOMAINS) {
    const mine = await directory.authorityOf(domain).then((authority) => authority, messageOf);
    const peer = await localVerifyResolution(domain);
    // The table words a missing document its own way (there is no HTTP status); both must fail.
    if (domain === 'plain.example') {
      assert.match(String(peer), /is not a browserid primary - non-200/);
      assert.match(String(mine), /is not a browserid primary/);
    } else {
      assertSameResolution(domain, mine, peer);
    }
  }
});

test('our discovery resolves the shared documents as local-verify does', async (t) => {
  // The same table served by a real local HTTPS server (test/helpers/idp-servers.ts), so the real discovery
  // code (not the table directory) does the fetching, delegation and loop detection.
  const pki = makeTestPki(DOMAINS);
  const server = await startIdpServer(pki);
  for (const domain of DOMAINS) if (Object.hasOwn(WORLD, domain)) server.serve(domain, WORLD[domain]);
  const agent = loopbackAgent(pki.ca, () => ({ port: server.port }));
  const discovery = createDiscovery({ dispatcher: agent });
  try {
    for (const domain of DOMAINS) {
      await t.test(domain, async () => {
        const mine = await discovery
          .discover(domain)
          .then((result) => (result.kind === 'supported' ? result.authoritativeDomain : null), messageOf);
        assertSameResolution(domain, mine, await localVerifyResolution(domain));
      });
    }
  } finally {
    await discovery.close();
    await agent.close();
    await server.close();
    pki.remove();
  }
});
