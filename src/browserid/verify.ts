/**
 * Verification of a backed assertion, step for step as the original (reference/persona.md §4.4), with the
 * deliberate change of SPEC §4.1 (objects without `exp` are refused). Pure but for the directory, which
 * answers issuer keys and domain authority (discovery.ts in production, a table in tests).
 */
import { readAssertion, unbundle } from './assertion.ts';
import { compareAudiences } from './audience.ts';
import { readCertificate } from './certificate.ts';
import { BrowserIdError, fail } from './errors.ts';
import { verifyJws, type DecodedJws } from './jws.ts';
import type { PublicKey } from './keys.ts';
import { emailDomain, isEmail } from './names.ts';

export interface IssuerDirectory {
  /**
   * The key `issuer` signs certificates with, following its delegation. Rejects with a BrowserIdError whose
   * message is the reason callers see; any other rejection reads as "not a browserid primary".
   */
  publicKeyOf(issuer: string): Promise<PublicKey>;
  /** The domain allowed to certify addresses at `domain`: itself or its delegate; null if none. */
  authorityOf(domain: string): Promise<string | null>;
}

export interface VerifyOptions {
  /** The audience the relying party expects, as it sent it. */
  readonly audience: string;
  readonly directory: IssuerDirectory;
  /** This service's own issuer name (the host of its public URL): trusted for every email domain. */
  readonly fallbackIssuer?: string;
  /** Its key, when known locally; otherwise looked up like any issuer's. */
  readonly fallbackKey?: PublicKey;
  /** An issuer name the caller accepted as an alias of the fallback (`experimental_forceIssuer`). */
  readonly forcedIssuer?: string;
  /** Accept certificates for `unverified-email` principals. */
  readonly allowUnverified?: boolean;
  /** Verification time in ms; defaults to now. */
  readonly now?: number;
}

export interface VerifiedAssertion {
  readonly email: string;
  /** False when the certificate named an `unverified-email` (only with allowUnverified). */
  readonly verified: boolean;
  readonly audience: string;
  /** The assertion's expiry, ms. */
  readonly expires: number;
  readonly issuer: string;
}

export type VerifyResult =
  ({ ok: true } & VerifiedAssertion) | { ok: false; code: BrowserIdError['code']; reason: string };

function checkTimes(issuedAt: number | undefined, expiresAt: number | undefined, now: number): void {
  if (expiresAt === undefined) fail('missing-expiry');
  if (issuedAt !== undefined && issuedAt > now) fail('issued-in-future');
  if (expiresAt < now) fail('expired');
}

function checkSignature(jws: DecodedJws, key: PublicKey): void {
  if (!verifyJws(jws, key)) fail('bad-signature');
}

function isAliasOfFallback(issuer: string, options: VerifyOptions): boolean {
  return (
    issuer === options.fallbackIssuer ||
    (options.forcedIssuer !== undefined && issuer === options.forcedIssuer)
  );
}

async function issuerKey(issuer: string, options: VerifyOptions): Promise<PublicKey> {
  try {
    return await options.directory.publicKeyOf(
      isAliasOfFallback(issuer, options) ? (options.fallbackIssuer ?? issuer) : issuer,
    );
  } catch (err) {
    // A directory's own reasons are fit for callers; anything else may be a socket error (SPEC §4.14).
    const why = err instanceof BrowserIdError ? err.message : `${issuer} is not a browserid primary`;
    return fail('no-public-key', `can't get public key for ${issuer}: ${why}`);
  }
}

/** Whether `issuer`, neither ours nor the address's own domain, is the domain's delegate. */
async function checkAuthority(issuer: string, domain: string, options: VerifyOptions): Promise<void> {
  let authority: string | null;
  try {
    authority = await options.directory.authorityOf(domain);
  } catch {
    authority = null; // a domain we cannot ask delegates to nobody
  }
  if (authority !== issuer)
    fail('issuer-not-authoritative', `issuer '${issuer}' may not speak for emails from '${domain}'`);
}

/** Principal rules of step 7: the address the certificate vouches for, and whether it is verified. */
function principalOf(cert: ReturnType<typeof readCertificate>, options: VerifyOptions): string {
  const { email, unverifiedEmail } = cert.principal;
  if (email === undefined && unverifiedEmail !== undefined && !options.allowUnverified)
    fail('unverified-email');
  const address = email ?? unverifiedEmail;
  if (address === undefined) fail('missing-email');
  if (!isEmail(address)) fail('invalid-email');
  return address;
}

/**
 * The checks that need no key, run before an issuer's key is fetched: the original fetched first (so any
 * certificate made the service fetch from any issuer), we fetch only for assertions that could pass.
 * Reasons differ from the original's only for assertions that fail both ways.
 */
function checkBeforeFetching(
  cert: ReturnType<typeof readCertificate>,
  assertion: ReturnType<typeof readAssertion>,
  options: VerifyOptions,
  now: number,
): void {
  checkTimes(cert.issuedAt, cert.expiresAt, now);
  checkTimes(assertion.issuedAt, assertion.expiresAt, now);
  compareAudiences(options.audience, assertion.audience ?? '');
  principalOf(cert, options);
}

/** Verifies `backed` (`cert~assertion`) for `options.audience`. Throws a BrowserIdError on any failure. */
export async function verifyBackedAssertion(
  backed: unknown,
  options: VerifyOptions,
): Promise<VerifiedAssertion> {
  const now = options.now ?? Date.now();
  const { certificates, assertion: assertionText } = unbundle(backed);
  if (certificates.length > 1) fail('chain-too-long');
  const cert = readCertificate(certificates[0]);
  const assertion = readAssertion(assertionText);

  // Our own key needs no lookup; skipping the await keeps the common case free of microtask hops.
  const local = isAliasOfFallback(cert.issuer, options) ? options.fallbackKey : undefined;
  if (local === undefined) checkBeforeFetching(cert, assertion, options, now);
  const rootKey = local ?? (await issuerKey(cert.issuer, options));
  checkSignature(cert.jws, rootKey);
  checkTimes(cert.issuedAt, cert.expiresAt, now);
  checkSignature(assertion.jws, cert.publicKey);
  checkTimes(assertion.issuedAt, assertion.expiresAt, now);

  compareAudiences(options.audience, assertion.audience ?? '');

  const address = principalOf(cert, options);
  const domain = emailDomain(address);
  if (!isAliasOfFallback(cert.issuer, options) && cert.issuer !== domain)
    await checkAuthority(cert.issuer, domain, options);
  return {
    email: address,
    verified: cert.principal.email !== undefined,
    audience: options.audience,
    expires: assertion.expiresAt ?? 0,
    issuer: cert.issuer,
  };
}

/** Like verifyBackedAssertion, but never throws: every failure comes back as a code and its reason. */
export async function checkBackedAssertion(backed: unknown, options: VerifyOptions): Promise<VerifyResult> {
  try {
    return { ok: true, ...(await verifyBackedAssertion(backed, options)) };
  } catch (err) {
    if (err instanceof BrowserIdError) return { ok: false, code: err.code, reason: err.message };
    return { ok: false, code: 'internal-error', reason: new BrowserIdError('internal-error').message };
  }
}
