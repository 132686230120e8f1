/**
 * Production without mail leaked tokens (issue 10 item 3): with PERSONA_ENV=production and no
 * PERSONA_SMTP_URL the stack started, answered stage_user with success, printed the live verification link
 * to the log and kept it in the development mailbox on disk. Now such a configuration does not start, and
 * a production stack's logs carry no token or link.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureLayout, layoutOf } from '../../src/cli/layout.ts';
import { ConfigError, loadConfig } from '../../src/config/load.ts';
import { databaseSettingsFrom, migrateToLatest } from '../../src/db/write.ts';
import { browser, tokenOf } from '../helpers/browser.ts';
import { PASSWORD, RP } from '../helpers/flows.ts';
import { startSmtpSink } from '../helpers/smtp.ts';
import { freePort, startStack } from '../helpers/stack.ts';

const production = { PERSONA_ENV: 'production' };

test('a production configuration without SMTP is refused, naming the setting', () => {
  assert.throws(
    () => loadConfig({ env: production }),
    (err: unknown) => err instanceof ConfigError && /PERSONA_SMTP_URL must be set/.test(err.message),
  );
  // The dbwriter is the tier that mails; a process that says it runs only others needs no SMTP.
  assert.throws(() => loadConfig({ env: production, tiers: ['dbwriter'] }), /PERSONA_SMTP_URL/);
  assert.equal(loadConfig({ env: production, tiers: ['verifier'] }).smtpUrl, '');
  const smtp = 'smtp://mailer:s3cret@mail.example:25';
  assert.equal(loadConfig({ env: { ...production, PERSONA_SMTP_URL: smtp } }).env, 'production');
  // Development keeps printing mail to the console.
  assert.equal(loadConfig({ env: {} }).smtpUrl, '');
});

test('`persona serve dbwriter` in production without SMTP exits at once, naming PERSONA_SMTP_URL', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'persona-prod-'));
  try {
    // Everything else a dbwriter needs is there: keys, database, a free port.
    const env = {
      ...process.env,
      PERSONA_DATA_DIR: dataDir,
      PERSONA_DBWRITER_PORT: String(await freePort()),
      PERSONA_LOG_LEVEL: 'info',
    };
    const dev = loadConfig({ env });
    ensureLayout(layoutOf(dev));
    await migrateToLatest(databaseSettingsFrom(dev).write);

    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', 'dbwriter'], {
      env: { ...env, PERSONA_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), 20_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    assert.equal(code, 1, out);
    assert.match(out, /PERSONA_SMTP_URL must be set with PERSONA_ENV=production/);
    assert.doesNotMatch(out, /listening/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a production stack: the link goes by mail only, in no log line and not to disk', async (t) => {
  const smtp = await startSmtpSink();
  const stack = await startStack({
    env: { ...production, PERSONA_SMTP_URL: smtp.url, PERSONA_LOG_LEVEL: 'debug' },
  });
  t.after(async () => {
    await stack.stop();
    await smtp.close();
  });
  const email = 'carol@example.com';
  const b = browser(stack.base);
  const staged = await b.post('/wsapi/stage_user', { email, pass: PASSWORD, site: RP });
  assert.deepEqual(staged.json(), { success: true }, staged.text);
  const mail = await smtp.waitFor(email);
  const token = tokenOf(mail.text);
  assert.ok(token.length >= 20, token);
  // The landing page and the completion carry the token in the query and the body.
  await b.get('/verify_email_address', { token });
  await b.post('/wsapi/email_for_token', { token });
  await b.post('/wsapi/complete_user_creation', { token });

  const logs = stack.logs.join('\n');
  assert.ok(stack.logs.length > 10, 'the tiers logged');
  assert.ok(!logs.includes(token), 'a log line carries the token');
  assert.doesNotMatch(logs, /verify_email_address\?token=/);
  const mailbox = layoutOf(stack.config).mailboxDir;
  assert.ok(!existsSync(mailbox) || readdirSync(mailbox).length === 0, 'mail kept on disk');
});
