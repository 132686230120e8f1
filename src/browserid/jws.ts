/** JWS compact form as jwcrypto writes it: b64url({"alg":…}).b64url(payload).b64url(signature). */
import { sign, verify } from 'node:crypto';
import { decodeBase64url, encodeBase64url } from './base64url.ts';
import { fail } from './errors.ts';
import type { PublicKey, SecretKey } from './keys.ts';

export type Payload = Record<string, unknown>;

export interface DecodedJws {
  readonly alg: string;
  readonly payload: Payload;
  /** The bytes the signature covers, `header.payload` as received. */
  readonly signingInput: Buffer;
  readonly signature: Buffer;
}

/** Longest signed object we parse; wsapi and the verifier cap whole bundles at 10 KB (SPEC §3). */
export const MAX_JWS_LENGTH = 10240;

export function signJws(payload: Payload, key: SecretKey): string {
  const signingInput = `${encodeBase64url(JSON.stringify({ alg: key.alg }))}.${encodeBase64url(JSON.stringify(payload))}`;
  const signature = sign(key.hash, Buffer.from(signingInput), {
    key: key.keyObject,
    dsaEncoding: 'ieee-p1363',
  });
  return `${signingInput}.${encodeBase64url(signature)}`;
}

function parseSegment(segment: string): Payload {
  const bytes = decodeBase64url(segment);
  if (!bytes) fail('malformed-signature');
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    fail('malformed-signature');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('malformed-signature');
  return value as Payload;
}

/** Splits and parses without checking the signature. Throws `malformed-signature`. */
export function decodeJws(jws: unknown): DecodedJws {
  if (typeof jws !== 'string' || jws.length > MAX_JWS_LENGTH) fail('malformed-signature');
  const parts = jws.split('.');
  if (parts.length !== 3) fail('malformed-signature');
  const [head = '', body = '', sig = ''] = parts;
  const header = parseSegment(head);
  const signature = decodeBase64url(sig);
  if (typeof header.alg !== 'string' || !signature || signature.length === 0) fail('malformed-signature');
  return {
    alg: header.alg,
    payload: parseSegment(body),
    signingInput: Buffer.from(`${head}.${body}`),
    signature,
  };
}

/**
 * True when the signature is valid for this key. The header's alg must name the key's label, as jwcrypto
 * requires ("algorithms do not match"). Signatures shorter than the key's width are left-padded: old
 * jwcrypto dropped leading zero bytes. A longer one (junk appended) throws `malformed-signature`, the
 * original's answer.
 */
export function verifyJws(decoded: DecodedJws, key: PublicKey): boolean {
  if (decoded.alg !== key.alg) return false;
  const { signature } = decoded;
  if (signature.length > key.signatureBytes) fail('malformed-signature');
  const padded =
    signature.length === key.signatureBytes
      ? signature
      : Buffer.concat([Buffer.alloc(key.signatureBytes - signature.length), signature]);
  try {
    return verify(key.hash, decoded.signingInput, { key: key.keyObject, dsaEncoding: 'ieee-p1363' }, padded);
  } catch {
    return false;
  }
}

/** Time claims are numbers of milliseconds. Absent stays absent; the verifier decides (SPEC §4.1). */
export function timeClaim(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) fail('malformed-signature');
  return value;
}
