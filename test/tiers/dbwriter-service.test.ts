/**
 * The dbwriter as a service: the per-IP staging limit (SPEC §4.4), the deliberate 503s (bcrypt queue full,
 * database unavailable), mail failures that do not fail the op, metrics, the deep heartbeat, and logs
 * that never carry passwords, hashes, tokens or cookies (SPEC §4.8).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { databaseSettings, openWriter } from '../../src/db/write.ts';
import { createMailer } from '../../src/mail/index.ts';
import { SITE, startDbwriter, type Harness, type HarnessOptions } from './dbwriter-harness.ts';

async function started(
  t: { after: (fn: () => Promise<void>) => void },
  options: HarnessOptions = {},
): Promise<Harness> {
  const h = await startDbwriter(options);
  t.after(() => h.close());
  return h;
}

async function metricsText(h: Harness): Promise<string> {
  return (await request(`${h.base}/metrics`)).body.text();
}

/** Polls /metrics until `line` shows (counters after the SMTP answer arrive a moment after the mail). */
async function waitForMetric(h: Harness, line: RegExp): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const text = await metricsText(h);
    if (line.test(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
  assert.fail(`no metric matching ${String(line)}`);
}

test('per-IP limit on verification mails: 429 from that address, others unaffected', async (t) => {
  const h = await started(t, { deps: { stagingLimit: { limit: 2, windowMs: 600_000 } } });
  const from = (ip: string) => {
    const b = h.browser(ip);
    b.useSession({}, 3_600_000, h.now());
    return b;
  };
  const busy = from('192.0.2.10');
  for (const n of [1, 2]) {
    const res = await busy.post('stage_user', {
      email: `u${n}@example.com`,
      pass: 'some password',
      site: SITE,
    });
    assert.equal(res.status, 200);
  }
  const third = await busy.post('stage_user', { email: 'u3@example.com', pass: 'some password', site: SITE });
  assert.equal(third.status, 429);
  assert.equal(third.text, 'Too Many Requests: Too many requests from your address, try again later.');
  assert.equal(third.headers['retry-after'], '600');
  // Every staging op counts, whatever the address.
  const reset = await busy.post('stage_reset', { email: 'u1@example.com', site: SITE });
  assert.equal(reset.status, 429);
  assert.equal(await h.writer.isStaged('u3@example.com'), false);

  const other = await from('192.0.2.11').post('stage_user', {
    email: 'u3@example.com',
    pass: 'some password',
    site: SITE,
  });
  assert.equal(other.status, 200);
  h.advance(600_001);
  const later = await busy.post('stage_user', { email: 'u4@example.com', pass: 'some password', site: SITE });
  assert.equal(later.status, 200);
  await waitForMetric(h, /persona_rate_limit_hits_total\{limit="stage:ip",outcome="refused"[^}]*\} 2/);
});

test('a full bcrypt queue answers 503 at once: text for staging, JSON for update_password', async (t) => {
  // One hash at a time at cost 12 (about a quarter second), and no waiting allowed.
  const h = await started(t, { hasher: { cost: 12, parallelism: 1, maxWaitMs: 1 } });
  const userid = await h.account('vic@example.com', 'vic password');
  const b = h.browser();
  b.useSession({
    userid,
    authLevel: 'password',
    lastPasswordReset: await h.writer.lastPasswordReset(userid),
  });

  const occupying = h.hasher.hash('keeps the only slot busy');
  const [staged, updated] = await Promise.all([
    b.post('stage_user', { email: 'wes@example.com', pass: 'wes password', site: SITE }),
    b.post('update_password', { oldpass: 'vic password', newpass: 'vic password 2' }),
  ]);
  await occupying;
  assert.equal(staged.status, 503);
  assert.equal(staged.text, 'Service Unavailable: server is too busy');
  assert.equal(updated.status, 503);
  assert.deepEqual(updated.json(), { success: false, reason: 'server is too busy' });
  assert.equal(await h.writer.isStaged('wes@example.com'), false);
  assert.ok(await h.hasher.compare('vic password', (await h.writer.checkAuth(userid))?.hash ?? ''));
});

test('database unavailable: 503 "database unavailable", and the deep heartbeat says so', async (t) => {
  // A database path below a regular file can never be opened.
  const dir = mkdtempSync(join(tmpdir(), 'persona-dbwriter-down-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  writeFileSync(join(dir, 'file'), '');
  const writer = openWriter(databaseSettings({ url: `sqlite:${join(dir, 'file', 'x.db')}` }));
  t.after(() => writer.close());
  const h = await started(t, { deps: { writer } });
  const b = h.browser();
  b.useSession({}, 3_600_000, h.now());
  const res = await b.post('stage_user', { email: 'x@example.com', pass: 'x password', site: SITE });
  assert.equal(res.status, 503);
  assert.equal(res.text, 'Service Unavailable: database unavailable');
  const internal = await h.webhead().post('saw_idp', { domain: 'example.com' });
  assert.equal(internal.status, 503);

  const shallow = await request(`${h.base}/__heartbeat__`);
  assert.equal(await shallow.body.text(), 'ok');
  const deep = await request(`${h.base}/__heartbeat__?deep`);
  assert.equal(deep.statusCode, 500);
  assert.match(await deep.body.text(), /^bad\ndatabase: /);
});

test('the deep heartbeat pings the database', async (t) => {
  const h = await started(t);
  const deep = await request(`${h.base}/__heartbeat__?deep`);
  assert.equal(deep.statusCode, 200);
  assert.equal(await deep.body.text(), 'ok');
});

test('a mail the SMTP server refuses does not fail the op: it is counted and logged without its link', async (t) => {
  const mailer = createMailer({
    publicUrl: 'https://login.persona.test',
    from: 'Persona <no-reply@login.persona.test>',
    smtpUrl: 'smtp://127.0.0.1:1',
    mailboxDir: join(tmpdir(), 'unused'),
  });
  t.after(() => {
    mailer.close();
  });
  const h = await started(t, { deps: { mailer } });
  const b = h.browser();
  b.useSession({}, 3_600_000, h.now());
  const res = await b.post('stage_user', { email: 'lost@example.com', pass: 'lost password', site: SITE });
  assert.deepEqual(res.json(), { success: true });
  const token = b.session(h.now())?.pendingCreation ?? '';
  await waitForMetric(h, /persona_mails_sent_total\{kind="new",outcome="failed"[^}]*\} 1/);
  const failure = h.logs.find((line) => line.includes('"mail_failed"'));
  assert.ok(failure);
  assert.equal(failure.includes(token), false);
});

test('metrics count ops, mails sent and throttle decisions', async (t) => {
  const h = await started(t);
  const b = h.browser();
  b.useSession({}, 3_600_000, h.now());
  await b.post('stage_user', { email: 'yan@example.com', pass: 'yan password', site: SITE });
  await b.post('stage_user', { email: 'yan@example.com', pass: 'yan password', site: SITE });
  await h.mailTo('yan@example.com');
  const text = await waitForMetric(h, /persona_mails_sent_total\{kind="new",outcome="sent"[^}]*\} 1/);
  assert.match(text, /persona_wsapi_operations_total\{op="stage_user"[^}]*\} 2/);
  assert.match(text, /persona_rate_limit_hits_total\{limit="email",outcome="allowed"[^}]*\} 1/);
  assert.match(text, /persona_rate_limit_hits_total\{limit="email",outcome="refused"[^}]*\} 1/);
  assert.match(text, /persona_rate_limit_hits_total\{limit="stage:ip",outcome="allowed"[^}]*\} 2/);
});

test('logs carry events, never passwords, hashes, tokens or cookies', async (t) => {
  const h = await started(t);
  const b = h.browser();
  b.useSession({}, 3_600_000, h.now());
  await b.post('stage_user', { email: 'zoe@example.com', pass: 'zoes secret password', site: SITE });
  const { token } = await h.mailTo('zoe@example.com');
  const other = h.browser('192.0.2.99');
  other.useSession({}, 3_600_000, h.now());
  await other.post('complete_user_creation', { token, pass: 'a wrong secret guess' });
  await other.post('complete_user_creation', { token, pass: 'zoes secret password' });
  const userid = (await h.writer.emailToUID('zoe@example.com')) ?? 0;
  await other.post('update_password', { oldpass: 'zoes secret password', newpass: 'zoes next password' });
  const hash = (await h.writer.checkAuth(userid))?.hash ?? '';

  const logs = h.logs.join('');
  assert.match(logs, /"event":"user_staged"/);
  assert.match(logs, /"event":"verification_password_mismatch"/);
  assert.match(logs, /"event":"account_created"/);
  assert.match(logs, /"event":"password_updated"/);
  for (const secret of [
    'zoes secret password',
    'a wrong secret guess',
    'zoes next password',
    token,
    hash,
    other.cookie,
    b.cookie,
  ]) {
    assert.equal(logs.includes(secret), false, `a log line holds ${secret.slice(0, 12)}…`);
  }
  assert.equal(/\$2[aby]\$/.test(logs), false, 'no bcrypt hash in the logs');
});
