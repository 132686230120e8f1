/**
 * Typed promise wrappers around Mozilla's own BrowserID libraries, the interop oracles of SPEC §3:
 * `browserid-crypto@0.9.1` ("jwcrypto") and `browserid-local-verify@0.5.2`. Both are CommonJS with
 * callback APIs and report failures as Error objects or bare strings; here every failure becomes a
 * rejected promise with a PeerError whose message is what the library said.
 *
 * Also here: a table of support documents served both to local-verify (its `httpRequest` hook) and to
 * our verifier (as an IssuerDirectory), so the two sides judge exactly the same world.
 */
import { createRequire } from 'node:module';
import { BrowserIdError } from '../../src/browserid/errors.ts';
import { parsePublicKey, parseSecretKey, type PublicKey, type SecretKey } from '../../src/browserid/keys.ts';
import { parseSupportDocument } from '../../src/browserid/support-document.ts';
import type { IssuerDirectory } from '../../src/browserid/verify.ts';

const require = createRequire(import.meta.url);

// ---- the untyped surface we use ---------------------------------------------------------------------

type Callback<T> = (err: unknown, value?: T) => void;

/** A jwcrypto key object (public or secret). */
export interface JwKey {
  readonly algorithm: string;
  /** The JWS label, e.g. 'RS256', 'DS128'. */
  getAlgorithm(): string;
  /** jwcrypto's JSON form: RS {n, e[, d]} decimal, DS {y|x, p, q, g} hex. */
  toSimpleObject(): Record<string, string>;
  serialize(): string;
}
export interface JwKeypair {
  readonly publicKey: JwKey;
  readonly secretKey: JwKey;
}

interface AssertionParams {
  issuer?: string;
  audience?: string;
  issuedAt?: Date | number;
  expiresAt?: Date | number;
}
interface CertParams {
  publicKey: JwKey;
  principal?: Record<string, string>;
}

interface JwcryptoModule {
  generateKeypair(opts: { algorithm: string; keysize: number }, cb: Callback<JwKeypair>): void;
  loadPublicKeyFromObject(obj: object): JwKey;
  loadSecretKeyFromObject(obj: object): JwKey;
  sign(payload: object, secretKey: JwKey, cb: Callback<string>): void;
  verify(jws: string, publicKey: JwKey, cb: Callback<Record<string, unknown>>): void;
  extractComponents(jws: string): { header: Record<string, unknown>; payload: Record<string, unknown> };
  assertion: {
    sign(payload: object, params: AssertionParams, secretKey: JwKey, cb: Callback<string>): void;
  };
  cert: {
    sign(
      certParams: CertParams,
      params: AssertionParams,
      additionalPayload: object | null,
      secretKey: JwKey,
      cb: Callback<string>,
    ): void;
    bundle(certs: string[], assertion: string): string;
    verifyBundle(
      bundle: string,
      now: Date | number,
      getRoot: (issuer: string, next: Callback<JwKey | JwKey[]>) => void,
      cb: (
        err: unknown,
        certParamsArray?: unknown[],
        payload?: unknown,
        assertionParams?: AssertionParams,
      ) => void,
    ): void;
  };
}

type HttpRequestHook = (
  domain: string,
  path: string,
  cb: (err: unknown, status?: number, headers?: Record<string, string>, body?: string) => void,
) => void;

interface LocalVerifyArgs {
  assertion: string;
  audience: string;
  now?: Date;
  fallback?: string;
  trustedIssuers?: string[];
  maxDelegations?: number;
}
interface LocalVerifyInstance {
  verify(args: LocalVerifyArgs, cb: Callback<LocalVerifyResult>): void;
  lookup(args: { domain: string; principalDomain?: string }, cb: Callback<LocalLookupResult>): void;
}
type LocalVerifyConstructor = new (args: {
  httpRequest: HttpRequestHook;
  maxDelegations?: number;
}) => LocalVerifyInstance;

export interface LocalVerifyResult {
  audience: string;
  expires: Date;
  issuer: string;
  email?: string;
  idpClaims?: Record<string, unknown>;
  userClaims?: Record<string, unknown>;
}
export interface LocalLookupResult {
  disabled?: boolean;
  authoritativeDomain: string;
  delegationChain: string[];
  publicKeys?: JwKey[];
}

// Loading order matters: the algorithms register themselves with the core on require.
const jw = require('browserid-crypto') as JwcryptoModule;
require('browserid-crypto/lib/algs/rs');
require('browserid-crypto/lib/algs/ds');
const LocalVerify = require('browserid-local-verify') as LocalVerifyConstructor;

// ---- promise plumbing -------------------------------------------------------------------------------

/** A failure reported by the Mozilla libraries; `message` is their reason text. */
export class PeerError extends Error {
  override readonly name = 'PeerError';
}

function asPeerError(err: unknown): PeerError {
  if (err instanceof Error) return new PeerError(err.message);
  return new PeerError(typeof err === 'string' ? err : JSON.stringify(err));
}

/** Runs a callback-style call; synchronous throws (jwcrypto has several) become rejections too. */
function call<T>(run: (cb: Callback<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      run((err, value) => {
        if (err) reject(asPeerError(err));
        else resolve(value as T);
      });
    } catch (err) {
      reject(asPeerError(err));
    }
  });
}

// ---- jwcrypto ---------------------------------------------------------------------------------------

export type JwAlgorithm = 'RS64' | 'RS128' | 'RS256' | 'DS128' | 'DS256';

function family(alg: JwAlgorithm): { algorithm: 'RS' | 'DS'; keysize: number } {
  return { algorithm: alg.startsWith('RS') ? 'RS' : 'DS', keysize: Number(alg.slice(2)) };
}

export const jwcrypto = {
  /** Pure JS: DS keys take milliseconds, RS256 a few seconds (it blocks the event loop meanwhile). */
  generateKeypair: (alg: JwAlgorithm): Promise<JwKeypair> =>
    call<JwKeypair>((cb) => {
      jw.generateKeypair(family(alg), cb);
    }),

  loadPublicKey: (json: object): JwKey => jw.loadPublicKeyFromObject(json),
  loadSecretKey: (json: object): JwKey => jw.loadSecretKeyFromObject(json),

  /** A plain JWS over any payload, as jwcrypto.sign writes it. */
  sign: (payload: object, secretKey: JwKey): Promise<string> =>
    call<string>((cb) => {
      jw.sign(payload, secretKey, cb);
    }),

  /** Resolves with the payload; rejects with 'algorithms do not match', 'invalid signature', … */
  verify: (jws: string, publicKey: JwKey): Promise<Record<string, unknown>> =>
    call<Record<string, unknown>>((cb) => {
      jw.verify(jws, publicKey, cb);
    }),

  extractComponents: (jws: string) => jw.extractComponents(jws),

  /**
   * An identity certificate. Times are ms since the epoch; `expiresAt: undefined` omits `exp`.
   * `extra` lands in the payload beside the standard claims (as FxA's `sub` did).
   */
  certify: (
    claims: {
      publicKey: JwKey;
      principal?: Record<string, string>;
      issuer: string;
      issuedAt?: number;
      expiresAt?: number;
      extra?: object;
    },
    issuerKey: JwKey,
  ): Promise<string> =>
    call<string>((cb) => {
      const certParams: CertParams = { publicKey: claims.publicKey };
      if (claims.principal) certParams.principal = claims.principal;
      jw.cert.sign(
        certParams,
        { issuer: claims.issuer, issuedAt: claims.issuedAt, expiresAt: claims.expiresAt },
        claims.extra ?? null,
        issuerKey,
        cb,
      );
    }),

  /** An assertion `{exp, aud[, iat]}` signed by the user's key. */
  assert: (
    claims: { audience: string; expiresAt?: number; issuedAt?: number },
    userKey: JwKey,
  ): Promise<string> =>
    call<string>((cb) => {
      jw.assertion.sign({}, claims, userKey, cb);
    }),

  bundle: (certs: string[], assertion: string): string => jw.cert.bundle(certs, assertion),

  /**
   * jwcrypto's cert.verifyBundle. `rootKey` answers the root issuer's key(s); resolves with the
   * assertion's parameters (audience, expiresAt, …) when the signatures and times check out.
   */
  verifyBundle: (
    backed: string,
    now: number,
    rootKey: (issuer: string) => JwKey | JwKey[] | Promise<JwKey | JwKey[]>,
  ): Promise<{ certificates: number; assertion: AssertionParams }> =>
    call<{ certificates: number; assertion: AssertionParams }>((cb) => {
      jw.cert.verifyBundle(
        backed,
        new Date(now),
        (issuer, next) => {
          Promise.resolve()
            .then(() => rootKey(issuer))
            .then(
              (key) => {
                next(null, key);
              },
              (err: unknown) => {
                next(err);
              },
            );
        },
        (err, certParamsArray, _payload, assertionParams) => {
          if (err) cb(err);
          else cb(null, { certificates: certParamsArray?.length ?? 0, assertion: assertionParams ?? {} });
        },
      );
    }),
};

// ---- support documents, one table for both sides ------------------------------------------------------

/** domain → its `/.well-known/browserid` JSON value; a domain not in the table answers 404. */
export type Documents = Readonly<Record<string, unknown>>;

/** A request local-verify made through the hook: which host, which path (with `?domain=`). */
export interface Fetch {
  readonly domain: string;
  readonly path: string;
}

/** local-verify's httpRequest hook over the table; `log` collects what it asked for. */
export function documentServer(documents: Documents, log: Fetch[] = []): HttpRequestHook {
  return (domain, path, cb) => {
    log.push({ domain, path });
    const doc = Object.hasOwn(documents, domain) ? documents[domain] : undefined;
    // Answer asynchronously, as a network would.
    setImmediate(() => {
      if (doc === undefined) cb(null, 404, { 'content-type': 'text/plain' }, 'not found');
      else cb(null, 200, { 'content-type': 'application/json' }, JSON.stringify(doc));
    });
  };
}

export const localVerify = {
  /** browserid-local-verify's verify() with support documents from the table. */
  verify: (args: LocalVerifyArgs & { documents: Documents; log?: Fetch[] }): Promise<LocalVerifyResult> =>
    call<LocalVerifyResult>((cb) => {
      const { documents, log, ...rest } = args;
      new LocalVerify({ httpRequest: documentServer(documents, log) }).verify(rest, cb);
    }),

  /** Its support-document discovery (with delegation) for `domain`. */
  lookup: (domain: string, documents: Documents, maxDelegations?: number): Promise<LocalLookupResult> =>
    call<LocalLookupResult>((cb) => {
      // An explicit `maxDelegations: undefined` would override its default (5) and disable the limit.
      const limit = maxDelegations === undefined ? {} : { maxDelegations };
      const verifier = new LocalVerify({ httpRequest: documentServer(documents), ...limit });
      verifier.lookup({ domain, principalDomain: domain }, cb);
    }),
};

/**
 * Our side of the same table: an IssuerDirectory that reads the documents with our parser and follows
 * delegation with the original's rules (at most 6 domains, cycles refused, with its messages). Discovery
 * over HTTP is tested on its own; here it only has to mirror what local-verify sees.
 */
export function tableDirectory(documents: Documents, maxDomains = 6): IssuerDirectory {
  const resolve = (start: string) => {
    const chain = [start];
    for (;;) {
      const domain = chain[chain.length - 1] ?? start;
      if (!Object.hasOwn(documents, domain))
        throw new BrowserIdError('discovery-failed', `${domain} is not a browserid primary`);
      const doc = parseSupportDocument(documents[domain]);
      if (doc.kind !== 'delegated') return { doc, authority: domain };
      if (chain.includes(doc.authority))
        throw new BrowserIdError(
          'delegation-loop',
          `Circular reference in delegating authority: ${chain.join(' > ')}`,
        );
      chain.push(doc.authority);
      if (chain.length > maxDomains)
        throw new BrowserIdError(
          'too-many-hops',
          `Too many hops while delegating authority: ${chain.join(' > ')}`,
        );
    }
  };
  return {
    publicKeyOf(issuer: string): Promise<PublicKey> {
      return Promise.resolve().then(() => {
        const { doc, authority } = resolve(issuer);
        if (doc.kind === 'disabled')
          throw new BrowserIdError('no-public-key', `browserid support is disabled for ${authority}`);
        return doc.publicKey;
      });
    },
    authorityOf(domain: string): Promise<string | null> {
      return Promise.resolve().then(() => {
        const { doc, authority } = resolve(domain);
        return doc.kind === 'supported' ? authority : null;
      });
    },
  };
}

/** Our PublicKey for a jwcrypto key, through our codec (the interop path under test). */
export const ourKey = (key: JwKey): PublicKey => parsePublicKey(key.toSimpleObject());

/** One keypair in both libraries' forms: jwcrypto's objects and ours, imported through our codec. */
export interface BothKeys {
  readonly jw: JwKeypair;
  readonly publicKey: PublicKey;
  readonly secretKey: SecretKey;
}

/** Imports a jwcrypto keypair into ours (RS secret keys carry only n, e, d: our codec factors n). */
export function bothSides(jwKeys: JwKeypair): BothKeys {
  return {
    jw: jwKeys,
    publicKey: parsePublicKey(jwKeys.publicKey.toSimpleObject()),
    secretKey: parseSecretKey(jwKeys.secretKey.toSimpleObject()),
  };
}

/** The reverse: our keypair loaded into jwcrypto from our JSON (its RS secret keys then sign without CRT). */
export function fromOurs(keys: { publicKey: PublicKey; secretKey: SecretKey }): BothKeys {
  return {
    jw: {
      publicKey: jw.loadPublicKeyFromObject(keys.publicKey.json),
      secretKey: jw.loadSecretKeyFromObject(keys.secretKey.json),
    },
    publicKey: keys.publicKey,
    secretKey: keys.secretKey,
  };
}
