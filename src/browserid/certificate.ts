/** Identity certificates (SPEC §3): an issuer vouches that a public key speaks for an email address. */
import { fail } from './errors.ts';
import { decodeJws, signJws, timeClaim, type DecodedJws } from './jws.ts';
import { parsePublicKey, type PublicKey, type SecretKey } from './keys.ts';

export interface Principal {
  /** Set for verified addresses. */
  readonly email?: string;
  /** Set instead of `email` for addresses the issuer has not verified (the original's allowUnverified). */
  readonly unverifiedEmail?: string;
}

export interface CertificateClaims {
  readonly issuer: string;
  readonly publicKey: PublicKey;
  readonly principal: Principal;
  /** Milliseconds since the epoch, as the original. */
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** Signs a certificate binding `publicKey` to the principal. The payload has exactly the original's five keys. */
export function certifyPublicKey(claims: CertificateClaims, issuerKey: SecretKey): string {
  const { email, unverifiedEmail } = claims.principal;
  const principal = email !== undefined ? { email } : { 'unverified-email': unverifiedEmail };
  return signJws(
    {
      iss: claims.issuer,
      iat: claims.issuedAt,
      exp: claims.expiresAt,
      'public-key': claims.publicKey.json,
      principal,
    },
    issuerKey,
  );
}

const optionalString = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;

export interface ParsedCertificate {
  readonly issuer: string;
  readonly publicKey: PublicKey;
  readonly principal: Principal;
  readonly issuedAt: number | undefined;
  readonly expiresAt: number | undefined;
  readonly jws: DecodedJws;
}

/**
 * Parsed certificates by their text. A certificate is reused for every assertion of a session (24 h), and
 * importing its user key into node:crypto costs more than both signature checks (docs/protocol.md), so
 * the parse is kept; signatures and times are still checked on every verification. Bounded, oldest first.
 */
const parsedCertificates = new Map<string, ParsedCertificate>();
export const CERTIFICATE_CACHE_SIZE = 4096;

export function clearCertificateCache(): void {
  parsedCertificates.clear();
}

/** Reads a certificate without checking its signature. Throws `malformed-signature`/`malformed-key`. */
export function readCertificate(text: unknown): ParsedCertificate {
  if (typeof text === 'string') {
    const cached = parsedCertificates.get(text);
    if (cached) return cached;
  }
  const parsed = parseCertificate(text);
  if (parsedCertificates.size >= CERTIFICATE_CACHE_SIZE) {
    const oldest = parsedCertificates.keys().next().value;
    if (oldest !== undefined) parsedCertificates.delete(oldest);
  }
  parsedCertificates.set(parsed.text, parsed);
  return parsed;
}

function parseCertificate(text: unknown): ParsedCertificate & { text: string } {
  const jws = decodeJws(text);
  const { payload } = jws;
  if (typeof payload.iss !== 'string' || payload.iss.length === 0) fail('malformed-signature');
  const principal = payload.principal;
  const p = typeof principal === 'object' && principal !== null ? (principal as Record<string, unknown>) : {};
  return {
    text: text as string,
    issuer: payload.iss,
    publicKey: parsePublicKey(payload['public-key']),
    principal: { email: optionalString(p.email), unverifiedEmail: optionalString(p['unverified-email']) },
    issuedAt: timeClaim(payload.iat),
    expiresAt: timeClaim(payload.exp),
    jws,
  };
}
