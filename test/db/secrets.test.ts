/** The mailed tokens (reference/persona.md §5.6): 48 of [A-Za-z0-9], from crypto random, unbiased. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSecret } from '../../src/db/write.ts';

test('48 characters of [A-Za-z0-9], never repeating', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const secret = generateSecret();
    assert.match(secret, /^[A-Za-z0-9]{48}$/);
    seen.add(secret);
  }
  assert.equal(seen.size, 2000);
});

test('every character equally likely (the original byte % 62 was not)', () => {
  const counts = new Map<string, number>();
  const samples = 6000;
  for (let i = 0; i < samples; i++) for (const c of generateSecret()) counts.set(c, (counts.get(c) ?? 0) + 1);
  assert.equal(counts.size, 62);
  const expected = (samples * 48) / 62;
  // Pearson's chi-square over 62 symbols (61 degrees of freedom): 110 is about four and a half standard deviations out
  // for a fair source; byte % 62 makes A–H a quarter more likely and scores in the thousands.
  let chi = 0;
  for (const n of counts.values()) chi += (n - expected) ** 2 / expected;
  assert.ok(chi < 110, `chi-square ${chi.toFixed(1)}`);
  // The first eight characters (which byte % 62 favours) are no more frequent than the rest.
  const first8 = Array.from('ABCDEFGH').reduce((sum, c) => sum + (counts.get(c) ?? 0), 0) / 8;
  assert.ok(Math.abs(first8 / expected - 1) < 0.05, `A–H at ${(first8 / expected).toFixed(3)} of expected`);
});
