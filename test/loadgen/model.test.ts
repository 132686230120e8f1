// The active-user model (SPEC §7): the mix over a simulated day, the per-million rates of the original,
// and the bcrypt-bound limit's arithmetic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACTIVITIES_PER_USER_SECOND,
  ACTIVITY_KINDS,
  ACTIVITY_WEIGHTS,
  bcryptBoundUsers,
  bcryptPerUserSecond,
  nextArrivalMs,
  pickActivity,
  ratesFor,
  seededRandom,
  type ActivityKind,
} from '../../src/loadgen/model.ts';

const within = (actual: number, expected: number, share: number, what: string) =>
  assert.ok(
    Math.abs(actual - expected) <= share * expected,
    `${what}: ${actual.toFixed(3)} is not within ${100 * share} % of ${expected.toFixed(3)}`,
  );

test('a simulated day of 100,000 active users matches SPEC §7 within 5 % for every activity', () => {
  const users = 100_000;
  const random = seededRandom(11);
  // Each visit arrives as a Poisson process over the day; its kind is drawn from the mix.
  const counts = Object.fromEntries(ACTIVITY_KINDS.map((k) => [k, 0])) as Record<ActivityKind, number>;
  const rate = users * ACTIVITIES_PER_USER_SECOND;
  for (let t = 0; t < 86_400_000; t += nextArrivalMs(rate, random())) counts[pickActivity(random())]++;
  const visits = Object.values(counts).reduce((a, b) => a + b, 0);
  within(visits, users * 40, 0.01, 'visits a day');
  // SPEC §7 in words: 8 of 40 visits sign in; re-auth once a week; reset every 4 weeks; a new address
  // every 2 weeks; a new password every 8 weeks; sign-up at the original's 20 %-a-month weight.
  const expected: Record<ActivityKind, number> = {
    signin: users * 8,
    include_only: users * 31,
    reauth: users / 7,
    reset_pass: users / 28,
    add_email: users / 14,
    change_pass: users / 56,
    signup: users / (28 * 0.2),
  };
  const sum = Object.values(expected).reduce((a, b) => a + b, 0);
  for (const kind of ACTIVITY_KINDS) within(counts[kind], (expected[kind] * users * 40) / sum, 0.05, kind);
});

test('per million active users: about 463 activities/s, with the original wiki figures', () => {
  const rates = ratesFor(1_000_000);
  within(
    Object.values(rates).reduce((a, b) => a + b, 0),
    463,
    0.001,
    'activities/s',
  );
  // reference/persona.md §7.1 (the 2011 wiki, reproduced by the original's formula)
  within(rates.signin, 93.93, 0.01, 'signin');
  within(rates.signup, 2.1, 0.01, 'signup');
  within(rates.reauth, 1.68, 0.01, 'reauth');
  within(rates.add_email, 0.84, 0.01, 'add_email');
  within(rates.reset_pass, 0.42, 0.01, 'reset_pass');
  within(
    Object.values(ACTIVITY_WEIGHTS).reduce((a, b) => a + b, 0),
    1,
    1e-9,
    'weights',
  );
});

test('the bcrypt-bound limit: compares/s over the mix’s password work per user', () => {
  // reauth 1, signup 1, reset 1 and change_pass 2 bcrypt operations, per million users per second
  const perMillion = 1e6 * bcryptPerUserSecond();
  const rates = ratesFor(1e6);
  within(perMillion, rates.reauth + rates.signup + rates.reset_pass + 2 * rates.change_pass, 1e-9, 'plan');
  within(bcryptBoundUsers(perMillion), 1e6, 1e-9, 'limit');
});
