/**
 * The short form of `npm run fuzz` (issue 10): 10,000 malformed requests (FUZZ_REQUESTS for more) over every
 * route, every wsapi op and raw HTTP framing against the whole stack; no 5xx but deliberate 503s, no tier
 * died. The engine and what it sends: test/helpers/fuzz.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PAGE_ROUTES } from '../../src/tiers/webhead/static.ts';
import { operations } from '../../src/wsapi/catalogue.ts';
import { formatFuzzReport, FUZZ_TIERS, runFuzz } from '../helpers/fuzz.ts';

test('10,000 malformed requests: no unexpected 5xx, no tier died', { timeout: 240_000 }, async () => {
  const requests = Number(process.env.FUZZ_REQUESTS ?? 10_000);
  const report = await runFuzz({
    requests,
    concurrency: 32,
    // Beside the other suites on a busy machine; the long form has its own limit.
    timeLimitMs: 180_000,
    ...(process.env.FUZZ_SEED !== undefined ? { seed: Number(process.env.FUZZ_SEED) } : {}),
  });
  const text = formatFuzzReport(report);
  assert.equal(report.unexpected5xx, 0, text);
  for (const tier of FUZZ_TIERS) assert.equal(report.restarts[tier], 0, `${tier} died\n${text}`);
  assert.equal(report.sent, requests, text);
  // Every op and page had its share, and so had raw HTTP.
  for (const path of [
    ...Object.keys(operations).map((op) => `/wsapi/${op}`),
    ...Object.keys(PAGE_ROUTES),
    '/verify',
  ])
    assert.ok(report.byGroup[path] !== undefined, `nothing sent to ${path}`);
  assert.ok(report.rawSent > requests / 20, text);
});
