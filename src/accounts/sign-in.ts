/**
 * Signing in with a password (reference/persona.md §5.4): what the account and the password say, read
 * only (the webhead's privilege). The caller writes what follows through the dbwriter: failures counted,
 * failures cleared, a rehash (SPEC §4.7: a clean sign-in writes nothing).
 *
 * Strangers cannot lock an owner out (SPEC §4.11, OWASP's device cookies): a browser the account signed in
 * from before (the caller passes what its device cookie names) is slowed only by its own failures; other
 * browsers by the failures against the account and from their client address, with growing delays and a
 * cap per window (the original's permanent 10-failure lock is gone).
 */
import type { RateLimit, Reader } from '../db/read.ts';
import type { PasswordHasher } from '../passwords/index.ts';

/** A rate-limit bucket's window (counted by the dbwriter) with growing delays between failures. */
export interface Backoff extends RateLimit {
  /** Failures in a window that may come back to back. */
  readonly free: number;
  /** The first delay after them; each further failure doubles it. */
  readonly delayMs: number;
}

export interface SignInBackoff {
  /** Per account, for browsers without a device cookie for it; `limit` is the hourly cap (10). */
  readonly account: Backoff;
  /** Per client address, for browsers without a device cookie for the account. */
  readonly ip: Backoff;
  /** Per device cookie: the browser's own failures. */
  readonly device: Backoff;
}

/** What the browser's device cookie says (opened by the caller; forged or expired ones are absent). */
export interface DeviceClaim {
  /** Random, lower-case hex. */
  readonly id: string;
  /** Accounts that signed in from this browser. */
  readonly userIds: readonly number[];
}

export interface Attempt {
  /** The end user's address, as the router saw it. */
  readonly clientIp: string;
  readonly device?: DeviceClaim | undefined;
  /** Epoch ms (default the clock). */
  readonly now?: number;
  /**
   * Counts a refusal's buckets (and the account's failure), through the dbwriter; awaited before another
   * guess at the account from an unknown browser may be checked here.
   */
  readonly countFailure?: (failure: Extract<PasswordSignIn, { kind: 'refused' }>) => Promise<void>;
}

export type ThrottleScope = 'account' | 'ip' | 'device';

export type PasswordSignIn =
  | {
      readonly kind: 'signed-in';
      readonly userId: number;
      readonly lastPasswordReset: number;
      /** There were failed attempts to clear. */
      readonly clearFailures: boolean;
      /** The stored hash has another cost: rehash while the password is at hand (persona #204). */
      readonly rehash: boolean;
      /** The browser's device cookie named this account. */
      readonly knownDevice: boolean;
    }
  | {
      readonly kind: 'refused';
      readonly outcome: 'unknown' | 'no_password' | 'mismatch';
      readonly reason: string;
      /** The account, when there is one: a mismatch counts against it (`failedAuthTries`). */
      readonly userId?: number;
      /** Buckets the failure counts in, through the dbwriter. */
      readonly count: readonly string[];
    }
  | {
      /**
       * Refused before bcrypt. `locked` (the account's cap for unknown browsers, answered as the original's
       * `account locked`) or `slowed` (a delay or another cap, answered 429). Nothing to count.
       */
      readonly kind: 'throttled';
      readonly outcome: 'locked' | 'slowed';
      readonly scope: ThrottleScope;
      readonly retryAfterMs: number;
      readonly userId?: number;
    };

export type SignInStore = Pick<Reader, 'emailToUID' | 'checkAuth' | 'lastPasswordReset' | 'rateLimitWindow'>;

export interface SignIn {
  withPassword(email: string, pass: string, attempt: Attempt): Promise<PasswordSignIn>;
}

/** A client address as a bucket name part: printable ASCII, bounded (the router sets it from the socket). */
export const bucketValue = (value: string): string =>
  value
    .replace(/[^\x21-\x7e]/g, '')
    .slice(0, 100)
    .toLowerCase() || 'unknown';

export const signInBuckets = {
  // Keyed by the password's age too: the mailed reset (which moves it) lifts the account's lock.
  account: (userId: number, lastPasswordReset: number) => `auth:acct:${userId}:${lastPasswordReset}`,
  ip: (clientIp: string) => `auth:ip:${bucketValue(clientIp)}`,
  device: (id: string) => `auth:dev:${bucketValue(id)}`,
};

/**
 * How long the bucket makes the next attempt wait (0: not at all), and whether that is its cap. The n-th
 * failure past the free ones may come `delayMs·(2ⁿ − 1)` after the window's first: back-to-back guesses
 * wait `delayMs`, then twice that, and so on, within the window's cap.
 */
export function waitBefore(
  window: { readonly hits: number; readonly windowStart: number } | undefined,
  backoff: Backoff,
  now: number,
): { readonly waitMs: number; readonly capped: boolean } {
  if (window === undefined || window.windowStart <= now - backoff.windowMs)
    return { waitMs: 0, capped: false };
  const end = window.windowStart + backoff.windowMs;
  if (window.hits >= backoff.limit) return { waitMs: end - now, capped: true };
  if (window.hits < backoff.free) return { waitMs: 0, capped: false };
  const due = window.windowStart + backoff.delayMs * (2 ** (window.hits - backoff.free + 1) - 1);
  return { waitMs: Math.max(0, Math.min(due, end) - now), capped: false };
}

// While an unknown browser's guess at an account that has failures is being checked, others wait:
// concurrent guesses would all read the count from before any of them failed.
const IN_FLIGHT_RETRY_MS = 1_000;

export function createSignIn(
  store: SignInStore,
  hasher: PasswordHasher,
  options: { readonly backoff: SignInBackoff },
): SignIn {
  const { backoff } = options;
  const checking = new Set<number>();

  async function throttle(bucket: string, policy: Backoff, now: number) {
    return waitBefore(await store.rateLimitWindow(bucket, policy.windowMs), policy, now);
  }

  async function check(
    email: string,
    pass: string,
    userId: number,
    known: boolean,
    count: readonly string[],
  ): Promise<PasswordSignIn> {
    const auth = await store.checkAuth(userId);
    if (auth === undefined) return { kind: 'refused', outcome: 'unknown', reason: 'no such user', count };
    if (auth.hash === null)
      return { kind: 'refused', outcome: 'no_password', reason: 'no password set for user', userId, count };
    if (!(await hasher.compare(pass, auth.hash)))
      return {
        kind: 'refused',
        outcome: 'mismatch',
        reason: `password mismatch for user: ${email}`,
        userId,
        count,
      };
    const lastPasswordReset = await store.lastPasswordReset(userId);
    if (lastPasswordReset === undefined)
      return { kind: 'refused', outcome: 'unknown', reason: 'no such user', count };
    return {
      kind: 'signed-in',
      userId,
      lastPasswordReset,
      clearFailures: auth.failedAuthTries > 0,
      rehash: hasher.needsRehash(auth.hash),
      knownDevice: known,
    };
  }

  return {
    async withPassword(email, pass, attempt) {
      const { clientIp, device } = attempt;
      const now = attempt.now ?? Date.now();
      const counted = async (result: PasswordSignIn) => {
        if (result.kind === 'refused') await attempt.countFailure?.(result);
        return result;
      };
      const userId = await store.emailToUID(email);
      const known = userId !== undefined && device !== undefined && device.userIds.includes(userId);

      if (known) {
        // The owner's browser: whatever strangers did, only its own failures slow it.
        const bucket = signInBuckets.device(device.id);
        const own = await throttle(bucket, backoff.device, now);
        if (own.waitMs > 0)
          return { kind: 'throttled', outcome: 'slowed', scope: 'device', retryAfterMs: own.waitMs, userId };
        return counted(await check(email, pass, userId, true, [bucket]));
      }

      const ipBucket = signInBuckets.ip(clientIp);
      const fromIp = await throttle(ipBucket, backoff.ip, now);
      if (fromIp.waitMs > 0)
        return {
          kind: 'throttled',
          outcome: 'slowed',
          scope: 'ip',
          retryAfterMs: fromIp.waitMs,
          ...(userId === undefined ? {} : { userId }),
        };
      if (userId === undefined)
        return counted({ kind: 'refused', outcome: 'unknown', reason: 'no such user', count: [ipBucket] });

      const lastPasswordReset = await store.lastPasswordReset(userId);
      if (lastPasswordReset === undefined)
        return counted({ kind: 'refused', outcome: 'unknown', reason: 'no such user', count: [ipBucket] });
      const accountBucket = signInBuckets.account(userId, lastPasswordReset);
      /** The account's window, or its refusal when the schedule makes this attempt wait. */
      const onAccount = async () => {
        const window = await store.rateLimitWindow(accountBucket, backoff.account.windowMs);
        const { waitMs, capped } = waitBefore(window, backoff.account, now);
        const refusal: PasswordSignIn | undefined =
          waitMs === 0
            ? undefined
            : {
                kind: 'throttled',
                outcome: capped ? 'locked' : 'slowed',
                scope: 'account',
                retryAfterMs: waitMs,
                userId,
              };
        return { window, refusal };
      };
      const first = await onAccount();
      if (first.refusal !== undefined) return first.refusal;
      // An account with no failures this window takes concurrent sign-ins (a burst of guesses there is
      // bounded by bcrypt's admission, then counted); once it has failures, one guess at a time.
      if (first.window === undefined)
        return counted(await check(email, pass, userId, false, [ipBucket, accountBucket]));
      if (checking.has(userId))
        return {
          kind: 'throttled',
          outcome: 'slowed',
          scope: 'account',
          retryAfterMs: IN_FLIGHT_RETRY_MS,
          userId,
        };
      checking.add(userId);
      try {
        // Read once the guess holds the account, so the count includes every guess before it.
        const { refusal } = await onAccount();
        if (refusal !== undefined) return refusal;
        return await counted(await check(email, pass, userId, false, [ipBucket, accountBucket]));
      } finally {
        checking.delete(userId);
      }
    },
  };
}
