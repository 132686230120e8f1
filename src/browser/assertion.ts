/**
 * The dialog's crypto (reference/persona.md §4.1–4.3), on WebCrypto: an RSA-2048 key (jwcrypto's RS256:
 * PKCS#1 v1.5 with SHA-256, e = 65537), its public half in jwcrypto's JSON ({"algorithm":"RS","n","e"}
 * as decimal strings), and an assertion ({"exp": ms, "aud": origin}, header {"alg":"RS256"}) in compact
 * JWS form, backed by the certificate as `cert~assertion`.
 */

const ALGORITHM: RsaHashedKeyGenParams = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
};

/** How long an assertion is good for, as the original dialog made them. */
export const ASSERTION_LIFETIME_MS = 2 * 60 * 1000;

function base64urlToText(text: string): string {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

/** The payload of a certificate (a compact JWS), or undefined when it is not one. */
export function certificatePayload(certificate: string): Record<string, unknown> | undefined {
  try {
    const payload: unknown = JSON.parse(base64urlToText(certificate.split('.')[1] ?? ''));
    return typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function bytesToBase64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const textToBase64url = (text: string): string => bytesToBase64url(new TextEncoder().encode(text));

/** A JWK's base64url big-endian integer as a decimal string. */
export function base64urlToDecimal(text: string): string {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  let hex = '';
  for (let i = 0; i < binary.length; i += 1) hex += binary.charCodeAt(i).toString(16).padStart(2, '0');
  return hex === '' ? '0' : BigInt(`0x${hex}`).toString(10);
}

export interface UserKey {
  readonly privateKey: CryptoKey;
  /** jwcrypto's public-key JSON, as cert_key takes it. */
  readonly publicKeyJson: string;
}

export async function generateUserKey(): Promise<UserKey> {
  const subtle = (globalThis.crypto as Crypto | undefined)?.subtle;
  if (subtle === undefined) throw new Error('this browser cannot make keys (no WebCrypto here)');
  // Not extractable: the private half can sign but never be read out, even by our own scripts.
  const pair = await subtle.generateKey(ALGORITHM, false, ['sign', 'verify']);
  const jwk = await subtle.exportKey('jwk', pair.publicKey);
  if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string') throw new Error('the new key has no n or e');
  return {
    privateKey: pair.privateKey,
    publicKeyJson: JSON.stringify({
      algorithm: 'RS',
      n: base64urlToDecimal(jwk.n),
      e: base64urlToDecimal(jwk.e),
    }),
  };
}

/** The compact JWS of {exp, aud} signed by `key`. */
export async function signAssertion(key: CryptoKey, audience: string, expiresAt: number): Promise<string> {
  const signingInput = `${textToBase64url('{"alg":"RS256"}')}.${textToBase64url(
    JSON.stringify({ exp: Math.round(expiresAt), aud: audience }),
  )}`;
  const signature = await crypto.subtle.sign(ALGORITHM.name, key, new TextEncoder().encode(signingInput));
  return `${signingInput}.${bytesToBase64url(new Uint8Array(signature))}`;
}

export const backedAssertion = (certificate: string, assertion: string): string =>
  `${certificate}~${assertion}`;
