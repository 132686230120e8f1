// The capacity search against stand-ins with a known limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findCapacity, type StepOutcome } from '../../src/loadgen/capacity.ts';

/**
 * A deployment with a known limit: an M/M/1-like queue whose p95 grows as 1/(1 − load), 50 ms when idle,
 * and that fails requests beyond the limit. p95 passes 1 s at 95 % of the limit.
 */
const standIn =
  (limit: number) =>
  (users: number): Promise<StepOutcome> => {
    const load = users / limit;
    return Promise.resolve({
      users,
      p95Ms: load >= 1 ? 30_000 : 50 / (1 - load),
      failureRate: load >= 1 ? 0.2 : 0,
    });
  };

test('ramps until p95 passes the bound, then narrows: the figure lands within 15 % below the true one', async () => {
  for (const limit of [3_000, 40_000, 1_000_000]) {
    // As the CLI does: the first step at a quarter of the bcrypt-bound limit, here the true one.
    const capacity = await findCapacity(standIn(limit), { start: limit / 4 });
    const truth = 0.95 * limit;
    assert.ok(capacity.users <= truth, `${capacity.users} > ${truth}`);
    assert.ok(capacity.users >= 0.85 * truth, `${capacity.users} < 85 % of ${truth}`);
    assert.ok(capacity.steps.at(-1) !== undefined);
    assert.ok(
      capacity.steps.some((s) => !s.held),
      'a step that did not hold',
    );
  }
});

test('failures beyond 0.1 % stop the ramp even with latency inside the bound', async () => {
  const capacity = await findCapacity(
    (users) => Promise.resolve({ users, p95Ms: 20, failureRate: users > 5000 ? 0.002 : 0 }),
    { start: 1000 },
  );
  assert.ok(capacity.users <= 5000 && capacity.users > 4000, String(capacity.users));
});

test('a step whose load the loadgen could not start (every account busy) holds nothing, however fast it was answered', async () => {
  // A deployment that answers everything at once, behind a loadgen that starts only 5,000 users' worth.
  const capacity = await findCapacity(
    (users) =>
      Promise.resolve({
        users,
        p95Ms: 20,
        failureRate: 0,
        unstartedRate: users > 5000 ? 1 - 5000 / users : 0,
      }),
    { start: 1000 },
  );
  assert.ok(capacity.users <= 5000 && capacity.users > 4000, String(capacity.users));
});

test('a first step that does not hold searches downwards; one that always holds stops at the step limit', async () => {
  const down = await findCapacity(standIn(1000), { start: 5000 });
  assert.ok(down.users >= 0.85 * 950 && down.users <= 950, String(down.users));
  const up = await findCapacity(() => Promise.resolve({ users: 0, p95Ms: 1, failureRate: 0 }), {
    start: 10,
    maxSteps: 5,
  });
  assert.equal(up.steps.length, 5);
  assert.equal(up.users, Math.round(10 * 1.5 ** 4));
});
