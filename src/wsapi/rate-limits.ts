/**
 * Per-IP and per-address limits shared by every instance (SPEC §4.4). Counters live in the database, which
 * only the dbwriter writes, so the webhead counts its own buckets through the internal `hit_rate_limit` op.
 *
 * A bucket is `<kind>:<scope>:<value>`, e.g. `auth:ip:203.0.113.9` or `auth:addr:alice@example.com`; its
 * limit is the one configured for `<kind>:<scope>`. Buckets are compared lower-cased, so an address or an
 * IPv6 address counts once whatever its case.
 */
import type { RateLimit } from '../db/read.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** New verification mails (every `stage_*` op) per client address. */
export const DEFAULT_STAGING_LIMIT: RateLimit = { limit: 20, windowMs: 10 * MINUTE };

/**
 * The buckets the webhead may count, by prefix. Generous per IP (offices and carriers put many people
 * behind one address); tighter per account address, beside the 10-failure lockout that never expires.
 */
export const DEFAULT_RATE_LIMITS: Readonly<Record<string, RateLimit>> = {
  // failed authenticate_user attempts from one client address: counted only on failure, so a good
  // sign-in writes nothing (SPEC §4.7); the webhead reads the count before spending bcrypt
  'auth:ip': { limit: 100, windowMs: 10 * MINUTE },
  // authenticate_user attempts for one account address, from anywhere
  'auth:addr': { limit: 30, windowMs: 10 * MINUTE },
  // failed sign-ins to one account (by user id) from browsers it never signed in from (SPEC §4.11); the
  // webhead's cap is the configured maximum (10), this one only labels the dbwriter's metric
  'auth:acct': { limit: 10, windowMs: HOUR },
  // failed sign-ins from one browser holding a device cookie, whichever accounts it names
  'auth:dev': { limit: 20, windowMs: HOUR },
  // address_info lookups from one client address: it tells whether an address has an account
  'info:ip': { limit: 200, windowMs: 10 * MINUTE },
  // auth_with_assertion attempts from one client address
  'assertion:ip': { limit: 300, windowMs: 10 * MINUTE },
  // cert_key requests from one client address
  'cert:ip': { limit: 600, windowMs: 10 * MINUTE },
  // verification mails from one client address (the dbwriter counts these itself)
  'stage:ip': DEFAULT_STAGING_LIMIT,
};

/**
 * Growing delays on failed sign-ins (SPEC §4.11), per bucket of the table above: after `free` failures in a
 * window, back-to-back attempts wait `delayMs`, then twice that, and so on; at `limit` the bucket refuses
 * until its window ends. Unknown browsers are slowed per account and per client address; a browser with a
 * device cookie for the account only by its own failures.
 */
export const DEFAULT_SIGN_IN_BACKOFF = {
  // 3 at once, then 2 s, 4 s, 8 s … apart: the 10th failure of an hour comes 4 minutes after the 1st at best
  account: { free: 3, delayMs: 2_000 },
  // offices and carriers put many people behind one address: 20 at once, then from 250 ms, doubling
  ip: { free: 20, delayMs: 250 },
  device: { free: 5, delayMs: 1_000 },
} as const;

/** The bucket's prefix (`<kind>:<scope>`), or undefined when it has no value after one. */
export function bucketPrefix(bucket: string): string | undefined {
  const parts = bucket.split(':');
  if (parts.length < 3 || parts[0] === '' || parts[1] === '' || parts.slice(2).join(':') === '')
    return undefined;
  return `${parts[0] ?? ''}:${parts[1] ?? ''}`;
}

/** The longest window among the limits: counters older than it are of no use. */
export const longestWindowMs = (limits: Iterable<RateLimit>): number =>
  Math.max(MINUTE, ...[...limits].map((l) => l.windowMs));
