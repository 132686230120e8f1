/**
 * One end-to-end deadline per request (issue 10 item 6, SPEC §6): 120 simultaneous sign-ins at bcrypt
 * cost 12 queued in the router (32 connections to the webhead), where the webhead's bcrypt admission could
 * not see them, and were all answered 200, the last after 27 s. Reproduced here with a burst whose total
 * work is well past the deadline on any machine (240 × cost 11) while the webhead's own queue of 32 stays
 * under its 10 s limit. Now what cannot be answered in time is refused at once with 503 + Retry-After, and
 * no answer comes later than the deadline plus a margin.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { browser } from '../helpers/browser.ts';
import { PASSWORD, signUp } from '../helpers/flows.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { REQUEST_DEADLINE_MS } from '../../src/http/deadline.ts';

const SIMULTANEOUS = Number(process.env.PERSONA_TEST_BURST ?? 240);
const BCRYPT_COST = process.env.PERSONA_TEST_BURST_COST ?? '11';
// Past the deadline: the answer's own way back, and a loaded 2-core box shared with other test runs.
const MARGIN_MS = 4000;

let smtp: SmtpSink;
let stack: Stack;

before(async () => {
  smtp = await startSmtpSink();
  // Near production's cost (12: about 250 ms of one core, SPEC §7): the overload is the point.
  stack = await startStack({ env: { PERSONA_SMTP_URL: smtp.url, PERSONA_BCRYPT_COST: BCRYPT_COST } });
});
after(async () => {
  await stack.stop();
  await smtp.close();
});

test(`${SIMULTANEOUS} simultaneous sign-ins: answered within the deadline, the excess refused early with 503 + Retry-After`, async () => {
  const email = 'ursula@example.com';
  await signUp(stack.base, smtp, email);
  const browsers = Array.from({ length: SIMULTANEOUS }, () => browser(stack.base));
  // Sessions first, so the burst is the sign-ins alone.
  await Promise.all(browsers.map((b) => b.sessionContext()));

  const started = performance.now();
  const answers = await Promise.all(
    browsers.map(async (b) => {
      const res = await b.post('/wsapi/authenticate_user', { email, pass: PASSWORD, ephemeral: false });
      return { status: res.status, retryAfter: res.headers['retry-after'], ms: performance.now() - started };
    }),
  );
  const ok = answers.filter((a) => a.status === 200);
  const refused = answers.filter((a) => a.status === 503);
  const slowest = Math.max(...answers.map((a) => a.ms));
  const byStatus = Object.fromEntries(
    [...new Set(answers.map((a) => a.status))].map((s) => [s, answers.filter((a) => a.status === s).length]),
  );
  const refusedMs = refused.map((a) => a.ms).sort((a, b) => a - b);
  console.log(
    `# ${SIMULTANEOUS} sign-ins: ${JSON.stringify(byStatus)}, slowest ${Math.round(slowest)} ms, ` +
      `503s answered after ${Math.round(refusedMs[0] ?? 0)}–${Math.round(refusedMs.at(-1) ?? 0)} ms ` +
      `(median ${Math.round(refusedMs[Math.floor(refusedMs.length / 2)] ?? 0)} ms)`,
  );

  assert.equal(ok.length + refused.length, SIMULTANEOUS, `only 200 or 503: ${JSON.stringify(byStatus)}`);
  assert.ok(ok.length > 0, 'some are served');
  assert.ok(refused.length > 0, 'the excess is refused');
  assert.ok(
    slowest < REQUEST_DEADLINE_MS + MARGIN_MS,
    `slowest answer ${Math.round(slowest)} ms, deadline ${REQUEST_DEADLINE_MS} ms`,
  );
  for (const r of refused)
    assert.ok(Number(r.retryAfter) >= 1, `503 with Retry-After (${String(r.retryAfter)})`);
  // Refused when it was clear they could not be served in time, not when the deadline ran out: most
  // refusals come in the first half of the deadline.
  const early = refused.filter((a) => a.ms < REQUEST_DEADLINE_MS / 2).length;
  assert.ok(early >= refused.length / 2, `${early} of ${refused.length} refusals within half the deadline`);
});
