/**
 * The bcrypt admission queue and the request deadline (issue 10 item 6): work that would end after the
 * deadline is refused at once with 503, work admitted ends in time; the deadline of the request being
 * served applies without being passed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withDeadline } from '../../src/http/deadline.ts';
import { ServiceError } from '../../src/http/errors.ts';
import { createPasswordHasher } from '../../src/passwords/index.ts';

const isTooBusy = (err: unknown) => err instanceof ServiceError && err.status === 503;

test('queued work that cannot end by its deadline is refused early; what is admitted ends in time', async () => {
  const hasher = createPasswordHasher({ cost: 10, parallelism: 1 });
  // Learn how long a hash takes on this machine.
  for (let i = 0; i < 3; i++) await hasher.hash('password123');
  const { averageMs } = hasher.load();
  const budget = Math.max(300, averageMs * 6);
  const started = Date.now();
  const deadline = started + budget;
  const results = await Promise.all(
    Array.from({ length: 40 }, () =>
      hasher.hash('password123', deadline).then(
        () => ({ ok: true, ms: Date.now() - started }),
        (err: unknown) => {
          assert.ok(isTooBusy(err), String(err));
          return { ok: false, ms: Date.now() - started };
        },
      ),
    ),
  );
  const done = results.filter((r) => r.ok);
  const refused = results.filter((r) => !r.ok);
  assert.ok(done.length >= 1, 'some are served');
  assert.ok(refused.length >= 20, `most are refused (${refused.length} of 40)`);
  // Without the deadline the queue would have taken them all (40 × averageMs is within the 10 s limit).
  const late = done.filter((r) => r.ms > budget + Math.max(1000, averageMs * 3));
  assert.deepEqual(late, [], `served ${budget} ms budget, average ${Math.round(averageMs)} ms`);
  assert.ok(
    refused.every((r) => r.ms <= budget + 50),
    'each refusal comes no later than the deadline',
  );
  assert.deepEqual({ ...hasher.load(), averageMs: 0 }, { running: 0, waiting: 0, averageMs: 0 });
});

test('the deadline of the request being served applies; a passed one is refused even when idle', async () => {
  const hasher = createPasswordHasher({ cost: 4, parallelism: 1 });
  const hash = await hasher.hash('password123');
  await assert.rejects(
    withDeadline(Date.now() - 1, () => hasher.compare('password123', hash)),
    isTooBusy,
  );
  await assert.rejects(hasher.compare('password123', hash, Date.now() - 1), isTooBusy);
  assert.equal(await withDeadline(Date.now() + 5000, () => hasher.compare('password123', hash)), true);
  assert.equal(await hasher.compare('password123', hash), true, 'no deadline: no limit but the queue');
});

test('waiters admitted on a first guess that proves too low are refused once hashes are timed, not at their deadline', async () => {
  // A first guess of 1 ms admits all 60; the measured cost-10 hash (tens of ms or more) shows most
  // cannot end within the 2 s budget.
  const hasher = createPasswordHasher({ cost: 10, parallelism: 1, firstGuessMs: 1 });
  const budget = 2000;
  const started = Date.now();
  const results = await Promise.all(
    Array.from({ length: 60 }, () =>
      hasher.hash('password123', started + budget).then(
        () => ({ ok: true, ms: Date.now() - started }),
        (err: unknown) => {
          assert.ok(isTooBusy(err), String(err));
          return { ok: false, ms: Date.now() - started };
        },
      ),
    ),
  );
  const refused = results.filter((r) => !r.ok).map((r) => r.ms);
  const averageMs = Math.round(hasher.load().averageMs);
  assert.ok(refused.length > 0, `some refused (average ${averageMs} ms)`);
  assert.ok(
    Math.min(...refused) < budget / 2,
    `the first refusal after ${Math.min(...refused)} ms, well before the ${budget} ms deadline`,
  );
});
