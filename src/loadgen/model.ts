/**
 * Persona's active-user model (SPEC §7, reference/persona.md §7.1): an active user makes 40 site visits a
 * day; each visit is one activity drawn with these weights. Pure: no I/O.
 */

export const VISITS_PER_DAY = 40;
/** Activities per active user per second: 40 / 86 400 ≈ 4.63 × 10⁻⁴ (463/s per million users). */
export const ACTIVITIES_PER_USER_SECOND = VISITS_PER_DAY / 86_400;

export const ACTIVITY_KINDS = [
  'include_only',
  'signin',
  'reauth',
  'signup',
  'reset_pass',
  'add_email',
  'change_pass',
] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

/**
 * Weight of each activity per site visit, as the original load generator drew them (normalised by their
 * sum): RPs keep their own login about 6 hours, so 8 of 40 visits sign in; 31 of 40 only load include.js;
 * re-authentication once a week; a reset every 4 weeks; a new address every 2 weeks; a new password every
 * 8 weeks. Sign-up keeps the original's 1/(40·28·0.2) for "20 % growth a month" (it divides by the growth
 * rather than multiplying, 25× the literal rate): the mix, and so the capacity figure, stay comparable
 * with Persona's own (reference/persona.md §7.1).
 */
const RAW: Readonly<Record<ActivityKind, number>> = {
  include_only: 31 / VISITS_PER_DAY,
  signin: 8 / VISITS_PER_DAY,
  reauth: 1 / (VISITS_PER_DAY * 7),
  signup: 1 / (VISITS_PER_DAY * 28 * 0.2),
  reset_pass: 1 / (VISITS_PER_DAY * 28),
  add_email: 1 / (VISITS_PER_DAY * 14),
  change_pass: 1 / (VISITS_PER_DAY * 56),
};
const RAW_SUM = Object.values(RAW).reduce((a, b) => a + b, 0);

export const ACTIVITY_WEIGHTS: Readonly<Record<ActivityKind, number>> = Object.fromEntries(
  ACTIVITY_KINDS.map((k) => [k, RAW[k] / RAW_SUM]),
) as Record<ActivityKind, number>;

/**
 * Share of sign-ins that need a new certificate: a device keeps one a day (the keysigner's default
 * validity) and signs in about 4 times a day (8 sign-ins over 2 devices), so one sign-in in 4 calls
 * cert_key. A short run on a small pool of accounts would otherwise certify each device once, then never.
 */
export const CERT_RENEWAL_SHARE = 2 / 8;

/** Activities per second of each kind that `users` active users make. */
export function ratesFor(users: number): Record<ActivityKind, number> {
  return Object.fromEntries(
    ACTIVITY_KINDS.map((k) => [k, users * ACTIVITIES_PER_USER_SECOND * ACTIVITY_WEIGHTS[k]]),
  ) as Record<ActivityKind, number>;
}

/** Draws an activity kind from a uniform number in [0, 1). */
export function pickActivity(u: number): ActivityKind {
  let acc = 0;
  for (const kind of ACTIVITY_KINDS) {
    acc += ACTIVITY_WEIGHTS[kind];
    if (u < acc) return kind;
  }
  return 'include_only';
}

/**
 * bcrypt operations (a hash or a compare, the same cost) each activity makes when the device already
 * holds a session, as src/loadgen/activities.ts does it: stage_user hashes; authenticate_user compares;
 * complete_reset hashes the new password; update_password compares the old and hashes the new one.
 * The run counts the ones it actually made; this is the plan.
 */
export const BCRYPT_OPS: Readonly<Record<ActivityKind, number>> = {
  include_only: 0,
  signin: 0,
  reauth: 1,
  signup: 1,
  reset_pass: 1,
  add_email: 0,
  change_pass: 2,
};

/** bcrypt operations per active user per second, from the mix and `opsPerActivity` (default: the plan). */
export function bcryptPerUserSecond(
  opsPerActivity: Readonly<Record<ActivityKind, number>> = BCRYPT_OPS,
): number {
  return ACTIVITY_KINDS.reduce(
    (sum, k) => sum + ACTIVITIES_PER_USER_SECOND * ACTIVITY_WEIGHTS[k] * opsPerActivity[k],
    0,
  );
}

/**
 * The bcrypt-bound limit: the active users a machine doing `comparesPerSecond` could serve if it did
 * nothing but the mix's password work.
 */
export const bcryptBoundUsers = (comparesPerSecond: number, perUserSecond = bcryptPerUserSecond()): number =>
  comparesPerSecond / perUserSecond;

/** A seeded pseudo-random source (mulberry32), so a simulated day is repeatable in tests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Gap to the next arrival of a Poisson process at `rate` per second, in ms. */
export const nextArrivalMs = (rate: number, u: number): number => (-Math.log(1 - u) / rate) * 1000;
