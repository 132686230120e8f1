// Issue 10 item 5, SPEC §4.13: verification mail goes through an outbox written with the staging and
// drained with retry and backoff. A real dbwriter, SQLite, and a real SMTP server that refuses at first.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { request } from 'undici';
import { createMailer } from '../../src/mail/index.ts';
import { startSmtpSink, type SmtpSinkOptions } from '../helpers/smtp.ts';
import { eventually } from './webhead-harness.ts';
import { SITE, startDbwriter } from './dbwriter-harness.ts';

/** A dbwriter whose mail goes to an SMTP server behaving as `smtp` says; retries fast. */
async function started(t: TestContext, smtp: SmtpSinkOptions, maxAttempts = 10) {
  const sink = await startSmtpSink(smtp);
  const mailer = createMailer({
    publicUrl: 'https://login.persona.test',
    from: 'Persona <no-reply@login.persona.test>',
    smtpUrl: sink.url,
    mailboxDir: join(tmpdir(), 'unused-mailbox'),
  });
  const h = await startDbwriter({
    deps: { mailer, outbox: { retryMs: 100, maxRetryMs: 400, maxAttempts, leaseMs: 5_000, pollMs: 50 } },
  });
  t.after(async () => {
    await h.close();
    mailer.close();
    await sink.close();
  });
  return { h, sink };
}

/** A browser with a session (a CSRF token) and nobody signed in. */
const anonymous = (h: Awaited<ReturnType<typeof startDbwriter>>) => {
  const b = h.browser();
  b.useSession({});
  return b;
};

const metric = async (base: string, pattern: RegExp): Promise<number> => {
  const text = await (await request(`${base}/metrics`)).body.text();
  const m = pattern.exec(text);
  return m ? Number(m[1]) : Number.NaN;
};

test('an SMTP server that refuses at first gets the mail after retries', async (t) => {
  const { h, sink } = await started(t, { refuseFirst: 2 });
  const b = anonymous(h);
  const staged = await b.post('stage_user', { email: 'ann@example.com', pass: 'ann password', site: SITE });
  assert.deepEqual(staged.json(), { success: true });
  const mail = await sink.waitFor('ann@example.com', 10_000);
  assert.match(String(mail.text), /verify_email_address\?token=[A-Za-z0-9]{48}/);
  assert.equal(sink.attempts, 3, 'two refusals, then accepted');
  await eventually(async () => (await h.writer.outboxDepth()).waiting === 0, 'the outbox to empty');
  assert.equal(await metric(h.base, /persona_mails_sent_total\{kind="new",outcome="failed"[^}]*\} (\d+)/), 2);
  assert.equal(await metric(h.base, /persona_mails_sent_total\{kind="new",outcome="sent"[^}]*\} (\d+)/), 1);
  assert.ok(h.logs.some((l) => l.includes('"event":"mail_failed"')));
  assert.ok(!h.logs.some((l) => /[A-Za-z0-9]{48}/.test(l)), 'no token in the logs');
});

test('after its bound of attempts a mail is given up and logged; the outbox is left empty', async (t) => {
  const { h, sink } = await started(t, { refuseFirst: 1000 }, 3);
  const b = anonymous(h);
  await b.post('stage_user', { email: 'bo@example.com', pass: 'bo password', site: SITE });
  await eventually(
    async () => h.logs.some((l) => l.includes('"event":"mail_given_up"')),
    'the give-up',
    10_000,
  );
  assert.equal(sink.attempts, 3);
  assert.equal((await h.writer.outboxDepth()).waiting, 0);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(sink.attempts, 3, 'no attempt after giving up');
});

test("the outbox's depth and oldest age are on the dbwriter's /metrics", async (t) => {
  const { h } = await started(t, { refuseFirst: 1000 }, 1000);
  assert.equal(await metric(h.base, /^persona_mail_outbox_depth\{[^}]*\} (\d+)/m), 0);
  assert.equal(await metric(h.base, /^persona_mail_outbox_oldest_age_seconds\{[^}]*\} (\S+)/m), 0);
  await anonymous(h).post('stage_user', { email: 'cy@example.com', pass: 'cy password', site: SITE });
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(await metric(h.base, /^persona_mail_outbox_depth\{[^}]*\} (\d+)/m), 1);
  assert.ok((await metric(h.base, /^persona_mail_outbox_oldest_age_seconds\{[^}]*\} (\S+)/m)) > 0);
});

test("a mail the outbox retries keeps the site's name, colour and logo and the person's language", async (t) => {
  const { h, sink } = await started(t, { refuseFirst: 1 });
  const b = h.browser('198.51.100.9', { 'accept-language': 'de' });
  b.useSession({});
  const staged = await b.post('stage_user', {
    email: 'dora@example.com',
    pass: 'dora password',
    site: SITE,
    siteName: 'Doras Laden',
    backgroundColor: '#204080',
    siteLogo: 'https://rp.example.org/logo.svg',
  });
  assert.deepEqual(staged.json(), { success: true });
  const mail = await sink.waitFor('dora@example.com', 10_000);
  assert.equal(sink.attempts, 2, 'the first attempt refused: this one is the outbox row, drained');
  assert.equal(mail.subject, 'Bestätigen Sie Ihre E-Mail-Adresse für Doras Laden');
  const html = String(mail.html);
  assert.match(html, /<html lang="de">/);
  assert.match(html, /background:#204080;/);
  assert.ok(html.includes('<img src="https://rp.example.org/logo.svg"'));
});
