import { test } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcrypt';
import { bcryptCost, createPasswordHasher } from '../../src/passwords/index.ts';
import { ServiceError } from '../../src/http/errors.ts';

test('hash and compare; $2a$ hashes of the original and other costs are read and flagged for rehash', async () => {
  const hasher = createPasswordHasher({ cost: 5 });
  const hash = await hasher.hash('correct horse');
  assert.equal(bcryptCost(hash), 5);
  assert.equal(await hasher.compare('correct horse', hash), true);
  assert.equal(await hasher.compare('wrong horse!', hash), false);
  assert.equal(hasher.needsRehash(hash), false);
  const legacy = await bcrypt.hash('correct horse', await bcrypt.genSalt(4, 'a'));
  assert.match(legacy, /^\$2a\$04\$/);
  assert.equal(await hasher.compare('correct horse', legacy), true);
  assert.equal(hasher.needsRehash(legacy), true);
  assert.equal(await hasher.compare('correct horse', 'not a hash'), false);
  assert.equal(await hasher.compare('correct horse', ''), false);
});

test('overload: work whose expected wait passes the limit is refused at once with 503, the rest completes', async () => {
  const hasher = createPasswordHasher({ cost: 9, parallelism: 1, maxWaitMs: 150 });
  const results = await Promise.allSettled(Array.from({ length: 30 }, () => hasher.hash('password123')));
  const refused = results.filter((r) => r.status === 'rejected');
  const done = results.filter((r) => r.status === 'fulfilled');
  assert.ok(done.length >= 2, `some hashes complete (${done.length})`);
  assert.ok(refused.length >= 10, `most are refused (${refused.length})`);
  for (const r of refused) {
    assert.ok(r.reason instanceof ServiceError);
    assert.equal(r.reason.status, 503);
    assert.equal(r.reason.reason, 'server is too busy');
  }
  assert.deepEqual({ ...hasher.load(), averageMs: 0 }, { running: 0, waiting: 0, averageMs: 0 });
  // Once idle it accepts work again.
  assert.equal(bcryptCost(await hasher.hash('password123')), 9);
});
