/**
 * The jwcrypto key codec (SPEC §3): BrowserID's JSON key forms to and from node:crypto KeyObjects.
 *   RS public  {"algorithm":"RS","n":"<decimal>","e":"<decimal>"}       secret adds "d" (decimal)
 *   DS public  {"algorithm":"DS","y":"<hex>","p":"<hex>","q":"<hex>","g":"<hex>"}   secret has "x" for "y"
 * Labels (RS64/RS128/RS256, DS128/DS256) follow from the key size, as jwcrypto derives them.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { bitString, integer, octetString, OID_DSA, sequence } from './der.ts';
import { BrowserIdError, fail } from './errors.ts';

export type KeyFamily = 'RS' | 'DS';
export type AlgorithmLabel = 'RS64' | 'RS128' | 'RS256' | 'DS128' | 'DS256';

export interface PublicKeyJson {
  algorithm: KeyFamily;
  [field: string]: string;
}
export type SecretKeyJson = PublicKeyJson;

interface Key {
  readonly family: KeyFamily;
  readonly alg: AlgorithmLabel;
  /** Digest used by node:crypto for this label. */
  readonly hash: 'sha1' | 'sha256';
  /** Width of a signature in bytes: the modulus for RS, r‖s for DS. */
  readonly signatureBytes: number;
  readonly keyObject: KeyObject;
}
export interface PublicKey extends Key {
  readonly json: PublicKeyJson;
}
export interface SecretKey extends Key {
  readonly json: SecretKeyJson;
}
export interface Keypair {
  readonly publicKey: PublicKey;
  readonly secretKey: SecretKey;
}

/** jwcrypto's fixed DSA groups (FIPS 186-3 test vectors); generated DS keys use them, as jwcrypto does. */
export const DSA_GROUPS = {
  DS128: {
    p: 'ff600483db6abfc5b45eab78594b3533d550d9f1bf2a992a7a8daa6dc34f8045ad4e6e0c429d334eeeaaefd7e23d4810be00e4cc1492cba325ba81ff2d5a5b305a8d17eb3bf4a06a349d392e00d329744a5179380344e82a18c47933438f891e22aeef812d69c8f75e326cb70ea000c3f776dfdbd604638c2ef717fc26d02e17',
    q: 'e21e04f911d1ed7991008ecaab3bf775984309c3',
    g: 'c52a4a0ff3b7e61fdf1867ce84138369a6154f4afa92966e3c827e25cfa6cf508b90e5de419e1337e07a2e9e2a3cd5dea704d175f8ebf6af397d69e110b96afb17c7a03259329e4829b0d03bbc7896b15b4ade53e130858cc34d96269aa89041f409136c7242a38895c9d5bccad4f389af1d7a4bd1398bd072dffa896233397a',
  },
  DS256: {
    p: 'd6c4e5045697756c7a312d02c2289c25d40f9954261f7b5876214b6df109c738b76226b199bb7e33f8fc7ac1dcc316e1e7c78973951bfc6ff2e00cc987cd76fcfb0b8c0096b0b460fffac960ca4136c28f4bfb580de47cf7e7934c3985e3b3d943b77f06ef2af3ac3494fc3c6fc49810a63853862a02bb1c824a01b7fc688e4028527a58ad58c9d512922660db5d505bc263af293bc93bcd6d885a157579d7f52952236dd9d06a4fc3bc2247d21f1a70f5848eb0176513537c983f5a36737f01f82b44546e8e7f0fabc457e3de1d9c5dba96965b10a2a0580b0ad0f88179e10066107fb74314a07e6745863bc797b7002ebec0b000a98eb697414709ac17b401',
    q: 'b1e370f6472c8754ccd75e99666ec8ef1fd748b748bbbc08503d82ce8055ab3b',
    g: '9a8269ab2e3b733a5242179d8f8ddb17ff93297d9eab00376db211a22b19c854dfa80166df2132cbc51fb224b0904abb22da2c7b7850f782124cb575b116f41ea7c4fc75b1d77525204cd7c23a15999004c23cdeb72359ee74e886a1dde7855ae05fe847447d0a68059002c3819a75dc7dcbb30e39efac36e07e2c404b7ca98b263b25fa314ba93c0625718bd489cea6d04ba4b0b7f156eeb4c56c44b50e4fb5bce9d7ae0d55b379225feb0214a04bed72f33e0664d290e7c840df3e2abb5e48189fa4e90646f1867db289c6560476799f7be8420a6dc01d078de437f280fff2d7ddf1248d56e1a54b933a41629d6c252983c58795105802d30d7bcd819cf6ef',
  },
} as const;

const RS_SIZES: readonly [AlgorithmLabel, number][] = [
  ['RS64', 512],
  ['RS128', 1024],
  ['RS256', 2048],
];
// Longest number we accept in a key field: a 2048-bit modulus is 617 decimal digits.
const MAX_FIELD = 1300;

// ---- big integers ---------------------------------------------------------------------------------

function bigFrom(field: unknown, radix: 10 | 16): bigint {
  if (typeof field !== 'string' || field.length === 0 || field.length > MAX_FIELD) fail('malformed-key');
  if (!(radix === 10 ? /^[0-9]+$/ : /^[0-9a-fA-F]+$/).test(field)) fail('malformed-key');
  return BigInt(radix === 10 ? field : `0x${field}`);
}

export function bigToBytes(n: bigint, width = 0): Buffer {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const bytes = Buffer.from(hex, 'hex');
  return bytes.length >= width ? bytes : Buffer.concat([Buffer.alloc(width - bytes.length), bytes]);
}

export function bytesToBig(bytes: Buffer): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);
}

const bitLength = (n: bigint): number => (n === 0n ? 0 : n.toString(2).length);

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
  }
  return result;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b) [a, b] = [b, a % b];
  return a;
}

function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [a % m, m];
  let [oldS, s] = [1n, 0n];
  while (r) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return ((oldS % m) + m) % m;
}

/**
 * jwcrypto secret RSA keys hold only n, e, d; node:crypto needs the primes. Recover them with the
 * standard randomised method (Boneh's): a few rounds succeed with overwhelming probability.
 */
function factorModulus(n: bigint, e: bigint, d: bigint): [bigint, bigint] {
  const k = d * e - 1n;
  if (k <= 0n || k & 1n) fail('malformed-key');
  let t = k;
  let s = 0;
  while (!(t & 1n)) {
    t >>= 1n;
    s++;
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    const g = (bytesToBig(randomBytes(Math.ceil(bitLength(n) / 8))) % (n - 3n)) + 2n;
    let x = modPow(g, t, n);
    for (let i = 0; i < s; i++) {
      const y = (x * x) % n;
      if (y === 1n && x !== 1n && x !== n - 1n) {
        const p = gcd(x - 1n, n);
        return [p, n / p];
      }
      if (y === 1n) break;
      x = y;
    }
  }
  return fail('malformed-key');
}

// ---- import ----------------------------------------------------------------------------------------

function rsaLabel(n: bigint): AlgorithmLabel {
  const bits = bitLength(n);
  // jwcrypto tolerates one bit off the nominal size.
  const found = RS_SIZES.find(([, size]) => Math.abs(size - bits) <= 1);
  if (!found) fail('unsupported-algorithm', `unsupported RSA key size: ${bits}`);
  return found[0];
}

function dsaLabel(p: bigint, q: bigint): AlgorithmLabel {
  const pBits = bitLength(p);
  const qBits = bitLength(q);
  if (pBits > 994 && pBits <= 1024 && qBits === 160) return 'DS128';
  if (pBits > 2018 && pBits <= 2048 && qBits === 256) return 'DS256';
  return fail('unsupported-algorithm', `unsupported DSA group: ${pBits}/${qBits}`);
}

const b64u = (n: bigint): string => bigToBytes(n).toString('base64url');

function describe(family: KeyFamily, alg: AlgorithmLabel, keyObject: KeyObject, sizeSource: bigint) {
  const hash: 'sha1' | 'sha256' = alg === 'DS128' ? 'sha1' : 'sha256';
  const width = Math.ceil(bitLength(sizeSource) / 8);
  return { family, alg, hash, keyObject, signatureBytes: family === 'DS' ? 2 * width : width };
}

function asRecord(json: unknown): Record<string, unknown> {
  if (typeof json === 'string') {
    if (json.length > 8 * MAX_FIELD) fail('malformed-key');
    try {
      json = JSON.parse(json);
    } catch {
      fail('malformed-key');
    }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('malformed-key');
  return json as Record<string, unknown>;
}

function dsaParams(o: Record<string, unknown>) {
  const p = bigFrom(o.p, 16);
  const q = bigFrom(o.q, 16);
  const g = bigFrom(o.g, 16);
  if (g <= 1n || g >= p || q >= p) fail('malformed-key');
  return { p, q, g, der: sequence(integer(bigToBytes(p)), integer(bigToBytes(q)), integer(bigToBytes(g))) };
}

/** Parses a public key in jwcrypto JSON (object or string). Throws `malformed-key`/`unsupported-algorithm`. */
export function parsePublicKey(input: unknown): PublicKey {
  const o = asRecord(input);
  try {
    if (o.algorithm === 'RS') {
      const n = bigFrom(o.n, 10);
      const e = bigFrom(o.e, 10);
      const alg = rsaLabel(n);
      const keyObject = createPublicKey({ key: { kty: 'RSA', n: b64u(n), e: b64u(e) }, format: 'jwk' });
      return {
        ...describe('RS', alg, keyObject, n),
        json: { algorithm: 'RS', n: n.toString(), e: e.toString() },
      };
    }
    if (o.algorithm === 'DS') {
      const { p, q, g, der } = dsaParams(o);
      const y = bigFrom(o.y, 16);
      if (y <= 1n || y >= p) fail('malformed-key');
      const alg = dsaLabel(p, q);
      const spki = sequence(sequence(OID_DSA, der), bitString(integer(bigToBytes(y))));
      const keyObject = createPublicKey({ key: spki, format: 'der', type: 'spki' });
      const json = {
        algorithm: 'DS' as const,
        y: y.toString(16),
        p: p.toString(16),
        q: q.toString(16),
        g: g.toString(16),
      };
      return { ...describe('DS', alg, keyObject, q), json };
    }
  } catch (err) {
    if (err instanceof BrowserIdError) throw err;
    fail('malformed-key');
  }
  return fail('unsupported-algorithm', `unsupported key algorithm: ${String(o.algorithm).slice(0, 20)}`);
}

/** Parses a secret key in jwcrypto JSON. RS keys may carry the CRT fields we write; n, e, d suffice. */
export function parseSecretKey(input: unknown): SecretKey {
  const o = asRecord(input);
  try {
    if (o.algorithm === 'RS') {
      const n = bigFrom(o.n, 10);
      const e = bigFrom(o.e, 10);
      const d = bigFrom(o.d, 10);
      const alg = rsaLabel(n);
      const [p, q] =
        o.p !== undefined && o.q !== undefined
          ? [bigFrom(o.p, 10), bigFrom(o.q, 10)]
          : factorModulus(n, e, d);
      if (p * q !== n) fail('malformed-key');
      const keyObject = createPrivateKey({
        key: {
          kty: 'RSA',
          n: b64u(n),
          e: b64u(e),
          d: b64u(d),
          p: b64u(p),
          q: b64u(q),
          dp: b64u(d % (p - 1n)),
          dq: b64u(d % (q - 1n)),
          qi: b64u(modInverse(q, p)),
        },
        format: 'jwk',
      });
      const json = {
        algorithm: 'RS' as const,
        n: n.toString(),
        e: e.toString(),
        d: d.toString(),
        p: p.toString(),
        q: q.toString(),
      };
      return { ...describe('RS', alg, keyObject, n), json };
    }
    if (o.algorithm === 'DS') {
      const { p, q, g, der } = dsaParams(o);
      const x = bigFrom(o.x, 16);
      if (x <= 0n || x >= q) fail('malformed-key');
      const alg = dsaLabel(p, q);
      const pkcs8 = sequence(
        integer(Buffer.from([0])),
        sequence(OID_DSA, der),
        octetString(integer(bigToBytes(x))),
      );
      const keyObject = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
      const json = {
        algorithm: 'DS' as const,
        x: x.toString(16),
        p: p.toString(16),
        q: q.toString(16),
        g: g.toString(16),
      };
      return { ...describe('DS', alg, keyObject, q), json };
    }
  } catch (err) {
    if (err instanceof BrowserIdError) throw err;
    fail('malformed-key');
  }
  return fail('unsupported-algorithm', `unsupported key algorithm: ${String(o.algorithm).slice(0, 20)}`);
}

// ---- generation -----------------------------------------------------------------------------------

/** A fresh keypair for a jwcrypto label (RS256 for a domain key, DS128 as the original dialog made). */
export function generateKeypair(alg: AlgorithmLabel): Keypair {
  if (alg === 'DS128' || alg === 'DS256') {
    const group = DSA_GROUPS[alg];
    const p = BigInt(`0x${group.p}`);
    const q = BigInt(`0x${group.q}`);
    const g = BigInt(`0x${group.g}`);
    // x uniform in [1, q-1]: 64 extra random bits make the modulo bias negligible (FIPS 186-4 B.1.1).
    const x = (bytesToBig(randomBytes(Math.ceil(bitLength(q) / 8) + 8)) % (q - 1n)) + 1n;
    const y = modPow(g, x, p);
    const hex = { p: group.p, q: group.q, g: group.g };
    return {
      publicKey: parsePublicKey({ algorithm: 'DS', y: y.toString(16), ...hex }),
      secretKey: parseSecretKey({ algorithm: 'DS', x: x.toString(16), ...hex }),
    };
  }
  const size = RS_SIZES.find(([label]) => label === alg);
  if (!size) return fail('unsupported-algorithm', `unsupported algorithm: ${alg}`);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: size[1], publicExponent: 65537 });
  const jwk = privateKey.export({ format: 'jwk' });
  const big = (field: string | undefined): string =>
    bytesToBig(Buffer.from(field ?? '', 'base64url')).toString();
  const rs = { algorithm: 'RS' as const, n: big(jwk.n), e: big(jwk.e) };
  return {
    publicKey: parsePublicKey(rs),
    secretKey: parseSecretKey({ ...rs, d: big(jwk.d), p: big(jwk.p), q: big(jwk.q) }),
  };
}

/** The public half of a secret key, in jwcrypto JSON. */
export function publicKeyOf(secret: SecretKey): PublicKey {
  if (secret.family === 'RS') return parsePublicKey({ algorithm: 'RS', n: secret.json.n, e: secret.json.e });
  const { p, q, g, x } = secret.json;
  const y = modPow(BigInt(`0x${String(g)}`), BigInt(`0x${String(x)}`), BigInt(`0x${String(p)}`));
  return parsePublicKey({ algorithm: 'DS', y: y.toString(16), p: String(p), q: String(q), g: String(g) });
}
