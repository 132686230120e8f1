// The loadgen's SMTP sink receives real mail from nodemailer (the deployment's mailer) and finds the link.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { linkIn, startMailSink } from '../../src/loadgen/mail.ts';

const TOKEN = 'aB3'.repeat(16);

test('a verification link in a quoted-printable or base64 body reaches the one waiting for it', async () => {
  const sink = await startMailSink();
  const transport = nodemailer.createTransport(sink.url);
  try {
    const url = `https://login.persona.example/verify_email_address?token=${TOKEN}`;
    const waiting = sink.linkFor('New.User@loadtest.domain', 5000);
    // A long line and a non-ASCII word: nodemailer chooses quoted-printable with soft breaks.
    await transport.sendMail({
      from: 'no-reply@persona.example',
      to: 'new.user@loadtest.domain',
      subject: 'Confirm',
      text: `Grüße! ${'x'.repeat(90)} Click to confirm: ${url}\n`,
    });
    assert.deepEqual(await waiting, { url, token: TOKEN });
    // Mail that arrives before anyone waits is kept for them.
    await transport.sendMail({
      from: 'no-reply@persona.example',
      to: 'later@loadtest.domain',
      subject: 'Confirm',
      text: `${url.replace('verify_email_address', 'confirm')}\n`,
      textEncoding: 'base64',
    });
    assert.equal((await sink.linkFor('later@loadtest.domain', 1000)).token, TOKEN);
    await assert.rejects(sink.linkFor('nobody@loadtest.domain', 100), /no mail to nobody/);
    assert.equal(sink.received, 2);
  } finally {
    transport.close();
    await sink.close();
  }
  assert.equal(linkIn('no link here'), undefined);
});
