/**
 * `persona ops kpi` (issue 12): the event catalogue names only events the tiers really log (each name is in
 * a tier's source as a logged `event`), and the summary counts events per hour with their reasons, by
 * relying party, and survives lines that are not JSON or not events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EVENTS, formatSummary, summarise } from '../../src/ops/kpi.ts';

const sourceOf = (dir: string): string =>
  readdirSync(dir)
    .map((entry) => join(dir, entry))
    .map((path) =>
      statSync(path).isDirectory() ? sourceOf(path) : path.endsWith('.ts') ? readFileSync(path, 'utf8') : '',
    )
    .join('\n');

test('every catalogued event is logged by a tier', () => {
  const tiers = sourceOf('src/tiers');
  for (const name of Object.keys(EVENTS)) {
    // Logged as `event: 'name'` (or one side of `event: a ? 'x' : 'y'`), or through a tier's table of
    // logged events (`['name', 'message']`).
    const logged = new RegExp(`event: '${name}'|\\['${name}', '|\\? '${name}' :|: '${name}',`).test(tiers);
    assert.ok(logged, `${name} is in the catalogue but no tier logs it`);
  }
});

test('the summary: per hour, with reasons and relying parties; bad lines counted, not fatal', () => {
  const at = (iso: string) => Date.parse(iso);
  const line = (time: string, fields: Record<string, unknown>) =>
    JSON.stringify({ level: 30, time: at(time), tier: 'webhead', reqId: 'r', ...fields });
  const summary = summarise([
    line('2026-12-01T05:10:00Z', { event: 'signin', method: 'password', userid: 1 }),
    line('2026-12-01T05:20:00Z', { event: 'signin_failed', reason: 'mismatch' }),
    line('2026-12-01T05:21:00Z', { event: 'signin_failed', reason: 'mismatch' }),
    line('2026-12-01T05:22:00Z', { event: 'signin_locked', scope: 'account' }),
    line('2026-12-01T06:01:00Z', { event: 'rate_limited', limit: 'stage:ip' }),
    line('2026-12-01T06:02:00Z', { event: 'verify', result: 'okay', rp: 'https://a.example' }),
    line('2026-12-01T06:03:00Z', { event: 'verify', result: 'failure', rp: 'https://a.example' }),
    line('2026-12-01T06:04:00Z', { event: 'listening' }),
    line('2026-12-01T06:05:00Z', { msg: 'request' }),
    'not json {',
    '',
  ]);
  assert.equal(summary.lines, 10);
  assert.equal(summary.unparsed, 1);
  assert.deepEqual(
    summary.hours.map((h) => [h.hour, h.events, h.reasons]),
    [
      [
        '2026-12-01T05',
        { signin: 1, signin_failed: 2, signin_locked: 1 },
        { 'signin:password': 1, 'signin_failed:mismatch': 2 },
      ],
      [
        '2026-12-01T06',
        { rate_limited: 1, verify: 2 },
        { 'rate_limited:stage:ip': 1, 'verify:okay': 1, 'verify:failure': 1 },
      ],
    ],
  );
  assert.deepEqual(summary.relyingParties, { 'https://a.example': 2 });
  const text = formatSummary(summary);
  assert.match(text, /security sign-in failures +2 {2}\(mismatch 2\)/);
  assert.match(text, /security sign-ins refused: account locked +1\n/);
  assert.match(text, /10 lines read, 1 not JSON\n$/);
});
