/** Assertions (SPEC §3): the user's key signs {exp, aud}; bundled after its certificate as `cert~assertion`. */
import { fail } from './errors.ts';
import { decodeJws, signJws, timeClaim, type DecodedJws } from './jws.ts';
import type { SecretKey } from './keys.ts';

export interface AssertionClaims {
  readonly audience: string;
  readonly expiresAt: number;
  /** Optional; checked against the verifier's clock when present. */
  readonly issuedAt?: number;
}

export function createAssertion(claims: AssertionClaims, userKey: SecretKey): string {
  const payload: Record<string, unknown> = { exp: claims.expiresAt, aud: claims.audience };
  if (claims.issuedAt !== undefined) payload.iat = claims.issuedAt;
  return signJws(payload, userKey);
}

export interface ParsedAssertion {
  readonly audience: string | undefined;
  readonly issuedAt: number | undefined;
  readonly expiresAt: number | undefined;
  readonly jws: DecodedJws;
}

export function readAssertion(text: unknown): ParsedAssertion {
  const jws = decodeJws(text);
  const { aud } = jws.payload;
  if (aud !== undefined && typeof aud !== 'string') fail('malformed-signature');
  return { audience: aud, issuedAt: timeClaim(jws.payload.iat), expiresAt: timeClaim(jws.payload.exp), jws };
}

/** `cert_1~…~cert_n~assertion`. */
export function bundle(certificates: readonly string[], assertion: string): string {
  if (certificates.length === 0) fail('no-certificates');
  return [...certificates, assertion].join('~');
}

export function unbundle(backed: unknown): { certificates: string[]; assertion: string } {
  if (typeof backed !== 'string' || backed.length === 0 || backed.length > 4 * 10240)
    fail('malformed-backed-assertion');
  const parts = backed.split('~');
  const assertion = parts.pop() ?? '';
  if (parts.length === 0) fail('no-certificates');
  return { certificates: parts, assertion };
}
