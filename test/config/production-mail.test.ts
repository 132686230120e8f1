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
import { EXIT_FATAL } from '../../src/supervisor/index.ts';
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

/** Runs `persona serve <tier>` until it exits or prints `until`; its output and exit code. */
async function serve(
  tier: string,
  env: NodeJS.ProcessEnv,
  until?: RegExp,
): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', tier], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const collect = (chunk: Buffer) => {
    out += chunk.toString();
    if (until?.test(out)) child.kill('SIGTERM');
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return { code, out };
}

test('`persona serve dbwriter` in production without SMTP exits at once naming PERSONA_SMTP_URL; the verifier needs none', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'persona-prod-'));
  try {
    // Everything else the tiers need is there: keys, database, free ports.
    const env = {
      ...process.env,
      PERSONA_DATA_DIR: dataDir,
      PERSONA_DBWRITER_PORT: String(await freePort()),
      PERSONA_VERIFIER_PORT: String(await freePort()),
      PERSONA_LOG_LEVEL: 'info',
    };
    const dev = loadConfig({ env });
    ensureLayout(layoutOf(dev));
    await migrateToLatest(databaseSettingsFrom(dev).write);

    const dbwriter = await serve('dbwriter', { ...env, PERSONA_ENV: 'production' });
    // The supervisor's exit code for a fatal start (EXIT_FATAL): no restarts.
    assert.equal(dbwriter.code, EXIT_FATAL, dbwriter.out);
    assert.match(dbwriter.out, /PERSONA_SMTP_URL must be set with PERSONA_ENV=production/);
    assert.doesNotMatch(dbwriter.out, /listening/);

    // A tier that sends no mail is not given the SMTP credentials (SPEC §2), and starts.
    const verifier = await serve('verifier', { ...env, PERSONA_ENV: 'production' }, /listening/);
    assert.match(verifier.out, /"tier":"verifier".*listening/);
    assert.doesNotMatch(verifier.out, /PERSONA_SMTP_URL/);
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
