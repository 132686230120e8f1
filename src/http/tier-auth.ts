/**
 * Tier-to-tier trust (SPEC §2): every call between tiers is signed by the calling tier's Ed25519 key and
 * checked against the callee's allow matrix, whatever the network says. Loopback proves nothing.
 *
 * Signed string: `persona-tier-v1\n<caller>\n<callee>\n<ms>\n<METHOD>\n<path?query>\n<sha256(body) hex>`.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceError } from './errors.ts';

export const TIERS = ['router', 'webhead', 'dbwriter', 'keysigner', 'verifier'] as const;
export type Tier = (typeof TIERS)[number];

/** Who may call whom: the matrix of SPEC §2. */
export const MAY_CALL: Readonly<Record<Tier, readonly Tier[]>> = {
  router: ['webhead', 'dbwriter', 'verifier'],
  webhead: ['dbwriter', 'keysigner'],
  dbwriter: [],
  keysigner: [],
  verifier: [],
};

export const callersOf = (callee: Tier): Tier[] =>
  TIERS.filter((caller) => MAY_CALL[caller].includes(callee));

/** How far a signature's clock may be from ours; bounds replay of a captured request. */
export const MAX_SKEW_MS = 30_000;

export const HEADER = {
  caller: 'x-persona-tier',
  date: 'x-persona-date',
  signature: 'x-persona-signature',
} as const;

export interface SignedRequest {
  readonly method: string;
  /** Path with query string, exactly as sent. */
  readonly url: string;
  readonly body: Buffer | string | undefined;
}

function signedString(caller: string, callee: string, date: string, request: SignedRequest): Buffer {
  const bodyHash = createHash('sha256')
    .update(request.body ?? '')
    .digest('hex');
  return Buffer.from(
    `persona-tier-v1\n${caller}\n${callee}\n${date}\n${request.method.toUpperCase()}\n${request.url}\n${bodyHash}`,
  );
}

export function signTierRequest(
  caller: Tier,
  key: KeyObject,
  callee: Tier,
  request: SignedRequest,
  now = Date.now(),
): Record<string, string> {
  const date = String(now);
  return {
    [HEADER.caller]: caller,
    [HEADER.date]: date,
    [HEADER.signature]: sign(null, signedString(caller, callee, date, request), key).toString('base64url'),
  };
}

const refuse = (why: string): never => {
  throw new ServiceError('forbidden', why);
};

/** Returns the calling tier, or throws 403 when the call is unsigned, badly signed, stale or not allowed. */
export function checkTierRequest(
  callee: Tier,
  callerKeys: ReadonlyMap<Tier, KeyObject>,
  request: SignedRequest & { headers: Record<string, string | string[] | undefined> },
  now = Date.now(),
): Tier {
  const caller = request.headers[HEADER.caller];
  const date = request.headers[HEADER.date];
  const signature = request.headers[HEADER.signature];
  if (typeof caller !== 'string' || typeof date !== 'string' || typeof signature !== 'string') {
    return refuse('this tier only answers signed calls from other tiers');
  }
  const tier = TIERS.find((t) => t === caller);
  if (!tier || !MAY_CALL[tier].includes(callee))
    return refuse(`${caller.slice(0, 20)} may not call ${callee}`);
  const key = callerKeys.get(tier);
  if (!key) return refuse(`no key for ${tier}`);
  if (!/^\d{1,15}$/.test(date) || Math.abs(now - Number(date)) > MAX_SKEW_MS)
    return refuse('stale or future signature');
  const ok = verify(
    null,
    signedString(tier, callee, date, request),
    key,
    Buffer.from(signature, 'base64url'),
  );
  if (!ok) return refuse('bad tier signature');
  return tier;
}

// ---- key files ------------------------------------------------------------------------------------

export const tierKeyDir = (dataDir: string): string => join(dataDir, 'tier-keys');

/** Creates missing Ed25519 keypairs for the given tiers (secret 0600) and returns nothing. */
export function ensureTierKeys(dir: string, tiers: readonly Tier[] = TIERS): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const tier of tiers) {
    const secretFile = join(dir, `${tier}.key`);
    if (existsSync(secretFile)) continue;
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeFileSync(secretFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), {
      mode: 0o600,
      flag: 'wx',
    });
    writeFileSync(join(dir, `${tier}.pub`), publicKey.export({ format: 'pem', type: 'spki' }), {
      mode: 0o644,
    });
  }
}

export function loadTierSecretKey(dir: string, tier: Tier): KeyObject {
  return createPrivateKey(readFileSync(join(dir, `${tier}.key`)));
}

/** The public keys of the tiers allowed to call `callee`, as found in `dir`. */
export function loadCallerKeys(dir: string, callee: Tier): Map<Tier, KeyObject> {
  const keys = new Map<Tier, KeyObject>();
  for (const caller of callersOf(callee)) {
    const file = join(dir, `${caller}.pub`);
    if (existsSync(file)) keys.set(caller, createPublicKey(readFileSync(file)));
  }
  return keys;
}
