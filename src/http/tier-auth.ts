/**
 * Tier-to-tier trust (SPEC §2): every call between tiers carries an HMAC-SHA256 under a key that only that
 * caller and that callee hold, and is checked against the topology's matrix whatever the network says
 * (loopback proves nothing). A MAC costs a few microseconds where a public-key signature cost as much as
 * verifying an assertion. Each signed call is accepted once: a captured call cannot be replayed.
 *
 * Signed string: `persona-tier-v2\n<caller>\n<callee>\n<ms>\n<nonce>\n<METHOD>\n<path?query>\n<sha256(body) hex>`.
 */
import {
  createHash,
  createHmac,
  createSecretKey,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CALLS, callersOf, isTier, mayCall, type Tier } from '../topology/index.ts';
import { ServiceError } from './errors.ts';

export type { Tier } from '../topology/index.ts';

/** How far a call's clock may be from ours. Nonces are remembered at least this long after it. */
export const MAX_SKEW_MS = 30_000;

export const HEADER = {
  caller: 'x-persona-tier',
  date: 'x-persona-date',
  nonce: 'x-persona-nonce',
  signature: 'x-persona-signature',
} as const;

export interface SignedRequest {
  readonly method: string;
  /** Path with query string, exactly as sent. */
  readonly url: string;
  readonly body: Buffer | string | undefined;
}

function mac(
  key: KeyObject,
  caller: string,
  callee: string,
  date: string,
  nonce: string,
  request: SignedRequest,
) {
  const bodyHash = createHash('sha256')
    .update(request.body ?? '')
    .digest('hex');
  return createHmac('sha256', key)
    .update(
      `persona-tier-v2\n${caller}\n${callee}\n${date}\n${nonce}\n${request.method.toUpperCase()}\n${request.url}\n${bodyHash}`,
    )
    .digest();
}

// Nonces unique to this process without asking the system for randomness on every call.
const noncePrefix = randomBytes(9).toString('base64url');
let nonceCounter = 0;

/** The headers that authenticate one call from `caller` to `callee` under their shared key. */
export function signTierRequest(
  caller: Tier,
  key: KeyObject,
  callee: Tier,
  request: SignedRequest,
  now = Date.now(),
): Record<string, string> {
  const date = String(now);
  const nonce = `${noncePrefix}.${(nonceCounter++).toString(36)}`;
  return {
    [HEADER.caller]: caller,
    [HEADER.date]: date,
    [HEADER.nonce]: nonce,
    [HEADER.signature]: mac(key, caller, callee, date, nonce, request).toString('base64url'),
  };
}

/**
 * Nonces seen in the last one to two periods, in two generations swapped every period: a nonce is
 * remembered for at least one period, longer than any accepted call's date can stay in the window.
 */
export class ReplayGuard {
  private current = new Set<string>();
  private previous = new Set<string>();
  private rotatedAt: number;
  private readonly periodMs: number;

  constructor(periodMs = 2 * MAX_SKEW_MS, now = Date.now()) {
    this.periodMs = periodMs;
    this.rotatedAt = now;
  }

  /** True the first time a nonce is offered, false for a replay. */
  firstUse(nonce: string, now = Date.now()): boolean {
    if (now - this.rotatedAt >= this.periodMs) {
      this.previous = now - this.rotatedAt >= 2 * this.periodMs ? new Set() : this.current;
      this.current = new Set();
      this.rotatedAt = now;
    }
    if (this.current.has(nonce) || this.previous.has(nonce)) return false;
    this.current.add(nonce);
    return true;
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }
}

const refuse = (why: string): never => {
  throw new ServiceError('forbidden', why);
};

/** Checks calls made to one tier: the keys it shares with each tier allowed to call it, and its nonces. */
export interface TierGate {
  /** Returns the calling tier, or throws 403 when the call is unsigned, badly signed, stale, replayed or not allowed. */
  check(
    request: SignedRequest & { headers: Record<string, string | string[] | undefined> },
    now?: number,
  ): Tier;
}

export function createTierGate(callee: Tier, callerKeys: ReadonlyMap<Tier, KeyObject>): TierGate {
  const replays = new ReplayGuard();
  return {
    check(request, now = Date.now()) {
      const caller = request.headers[HEADER.caller];
      const date = request.headers[HEADER.date];
      const nonce = request.headers[HEADER.nonce];
      const signature = request.headers[HEADER.signature];
      if (
        typeof caller !== 'string' ||
        typeof date !== 'string' ||
        typeof nonce !== 'string' ||
        typeof signature !== 'string'
      ) {
        return refuse('this tier only answers signed calls from other tiers');
      }
      if (!isTier(caller) || !mayCall(caller, callee))
        return refuse(`${caller.slice(0, 20)} may not call ${callee}`);
      const key = callerKeys.get(caller);
      if (!key) return refuse(`no key shared with ${caller}`);
      if (!/^\d{1,15}$/.test(date) || Math.abs(now - Number(date)) > MAX_SKEW_MS)
        return refuse('stale or future signature');
      if (nonce.length > 64) return refuse('bad tier signature');
      const expected = mac(key, caller, callee, date, nonce, request);
      const given = Buffer.from(signature, 'base64url');
      if (given.length !== expected.length || !timingSafeEqual(given, expected))
        return refuse('bad tier signature');
      // Only a correctly signed call spends a nonce: nobody else can fill the guard.
      if (!replays.firstUse(`${caller}\n${nonce}`, now)) return refuse('replayed tier call');
      return caller;
    },
  };
}

// ---- key files: one secret per allowed caller → callee pair -----------------------------------------

export const tierKeyDir = (dataDir: string): string => join(dataDir, 'tier-keys');

const pairKeyFile = (dir: string, caller: Tier, callee: Tier): string =>
  join(dir, `${caller}-to-${callee}.key`);

/** Creates a missing key (32 random bytes, file 0600) for every pair the topology allows; true if any was made. */
export function ensureTierKeys(dir: string): boolean {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let made = false;
  for (const [caller, callee] of CALLS) {
    const file = pairKeyFile(dir, caller, callee);
    if (existsSync(file)) continue;
    writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    made = true;
  }
  return made;
}

function readPairKey(dir: string, caller: Tier, callee: Tier): KeyObject {
  const text = readFileSync(pairKeyFile(dir, caller, callee), 'utf8').trim();
  const key = Buffer.from(text, 'base64url');
  if (key.length < 32) throw new Error(`${pairKeyFile(dir, caller, callee)}: expected a 32-byte key`);
  return createSecretKey(key);
}

/** The key `caller` signs its calls to `callee` with. */
export function loadCalleeKey(dir: string, caller: Tier, callee: Tier): KeyObject {
  return readPairKey(dir, caller, callee);
}

/** The keys of the tiers allowed to call `callee`, as found in `dir`. */
export function loadCallerKeys(dir: string, callee: Tier): Map<Tier, KeyObject> {
  const keys = new Map<Tier, KeyObject>();
  for (const caller of callersOf(callee)) {
    if (existsSync(pairKeyFile(dir, caller, callee))) keys.set(caller, readPairKey(dir, caller, callee));
  }
  return keys;
}

/** A fresh key for a caller → callee pair (tests and harnesses). */
export const generateTierKey = (): KeyObject => createSecretKey(randomBytes(32));
