// Issue 10 item 5, SPEC §4.13, on real processes under the supervisor: a staging the dbwriter answered
// keeps its mail when SMTP is down and when the dbwriter is killed (SIGKILL) right after answering.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { browser } from '../helpers/browser.ts';
import { RP } from '../helpers/flows.ts';
import { startSmtpSink, type SmtpSink, type SmtpSinkOptions } from '../helpers/smtp.ts';
import { freePort, startStack, type Stack } from '../helpers/stack.ts';

let stack: Stack;
let smtpPort: number;
let sink: SmtpSink | undefined;

before(async () => {
  // SMTP lives at a fixed port that the tests bring up and down.
  smtpPort = await freePort();
  stack = await startStack({
    env: {
      PERSONA_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      PERSONA_MAIL_RETRY_MS: '300',
      // Short, so a restarted dbwriter takes over the attempt its killed predecessor began within seconds.
      PERSONA_MAIL_LEASE_MS: '3000',
    },
    restartDelayMs: 300,
  });
});
after(async () => {
  await stack.stop();
  await sink?.close();
});

async function smtpUp(options: Omit<SmtpSinkOptions, 'port'> = {}): Promise<SmtpSink> {
  await sink?.close();
  sink = await startSmtpSink({ ...options, port: smtpPort });
  return sink;
}

async function smtpDown(): Promise<void> {
  await sink?.close();
  sink = undefined;
}

async function stageUser(email: string): Promise<void> {
  const b = browser(stack.base);
  const staged = await b.post('/wsapi/stage_user', { email, pass: 'a good password', site: RP });
  assert.deepEqual(staged.json(), { success: true }, staged.text);
}

/** SIGKILLs the dbwriter and waits until its successor answers. */
async function killDbwriter(): Promise<void> {
  const pid = stack.supervisor.pid('dbwriter');
  assert.ok(pid);
  process.kill(pid, 'SIGKILL');
  const until = Date.now() + 20_000;
  while (stack.supervisor.pid('dbwriter') === pid || stack.supervisor.pid('dbwriter') === undefined) {
    if (Date.now() > until) throw new Error('the dbwriter was not restarted');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('SMTP down when stage_user answers, the dbwriter killed: the mail arrives once both are back', async () => {
  await smtpDown();
  const email = 'outbox-down@example.com';
  await stageUser(email);
  await killDbwriter();
  const up = await smtpUp();
  const mail = await up.waitFor(email, 20_000);
  assert.match(String(mail.text), /verify_email_address\?token=[A-Za-z0-9]{48}/);
});

test('the dbwriter killed while handing the mail to SMTP: its restarted successor sends it', async () => {
  // SMTP holds the first message at MAIL FROM, so the kill lands while the mail is on its way.
  const up = await smtpUp({ holdFirstMs: 5_000 });
  const email = 'outbox-killed@example.com';
  await stageUser(email);
  const until = Date.now() + 5_000;
  while (up.attempts === 0) {
    if (Date.now() > until) throw new Error('the dbwriter never tried SMTP');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await killDbwriter();
  const mail = await up.waitFor(email, 20_000);
  assert.match(String(mail.text), /verify_email_address\?token=[A-Za-z0-9]{48}/);
  assert.equal(up.messages.length, 1, 'sent once: the held attempt died with its process');
});
