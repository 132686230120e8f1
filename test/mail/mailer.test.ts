import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMailer } from '../../src/mail/index.ts';
import { readMailbox } from '../../src/mailbox/index.ts';
import { LANDING_PAGES, type MailKind } from '../../src/mail/templates.ts';
import { startSmtpSink } from '../helpers/smtp.ts';

const token = 'a'.repeat(24) + 'B'.repeat(24);

test('each kind of mail arrives over SMTP with text and HTML and a link to its landing page', async (t) => {
  const sink = await startSmtpSink();
  t.after(() => sink.close());
  const mailer = createMailer({
    publicUrl: 'https://login.example.org',
    from: 'Persona <no-reply@example.org>',
    smtpUrl: sink.url,
    mailboxDir: '/nonexistent',
  });
  t.after(() => mailer.close());
  for (const kind of Object.keys(LANDING_PAGES) as MailKind[]) {
    const to = `${kind}@example.com`;
    await mailer.send({ kind, to, token, site: 'https://rp.example:8443' });
    const mail = await sink.waitFor(to);
    const link = `https://login.example.org${LANDING_PAGES[kind]}?token=${token}`;
    assert.match(mail.subject ?? '', /rp\.example:8443/);
    assert.ok(mail.text?.includes(link), `${kind}: text has the link`);
    assert.ok(String(mail.html).includes(`href="${link}"`), `${kind}: html has the link`);
    assert.equal(mail.from?.value[0]?.address, 'no-reply@example.org');
  }
});

test('HTML escapes what the requester controls', async (t) => {
  const sink = await startSmtpSink();
  t.after(() => sink.close());
  const mailer = createMailer({
    publicUrl: 'https://login.example.org',
    from: 'p@example.org',
    smtpUrl: sink.url,
    mailboxDir: '/nonexistent',
  });
  await mailer.send({ kind: 'new', to: 'x@example.com', token, site: 'https://<b>evil</b>.example' });
  const mail = await sink.waitFor('x@example.com');
  assert.doesNotMatch(String(mail.html), /<b>evil/);
  mailer.close();
});

test('without SMTP, mail goes to the development mailbox, newest first', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'persona-mailbox-')), 'mailbox');
  const mailer = createMailer({
    publicUrl: 'http://127.0.0.1:10002',
    from: 'p@example.org',
    smtpUrl: '',
    mailboxDir: dir,
  });
  await mailer.send({ kind: 'new', to: 'first@example.com', token, site: 'http://127.0.0.1:10001' });
  await new Promise((r) => setTimeout(r, 5));
  await mailer.send({
    kind: 'reset',
    to: 'second@example.com',
    token: 'C'.repeat(48),
    site: 'http://127.0.0.1:10001',
  });
  const box = readMailbox(dir);
  assert.deepEqual(
    box.map((m) => m.to),
    ['second@example.com', 'first@example.com'],
  );
  assert.equal(box[0]?.link, `http://127.0.0.1:10002/reset_password?token=${'C'.repeat(48)}`);
});
