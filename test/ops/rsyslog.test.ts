/**
 * Shipped logs (issue 12): two real rsyslogd (Debian's), each its own child with the configuration
 * `persona ops rsyslog` generates, its own pid file and work directory: one follows the stack's per-process
 * JSON log files and forwards them, the other collects. After real sign-up, wrong and right sign-ins, a
 * certificate, /verify (okay and refused) and a password reset, every line the tiers wrote arrives at the
 * collector unchanged and parseable; the KPI and security events carry their fields and request ids, one
 * request's id is seen on the router, webhead and dbwriter; no password, token, cookie, assertion or
 * certificate is in any shipped line; `persona ops kpi` summarises them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EVENTS, summarise } from '../../src/ops/kpi.ts';
import { rsyslogConfig } from '../../src/ops/rsyslog.ts';
import { browser, tokenOf } from '../helpers/browser.ts';
import { assertionFor, PASSWORD, RP, signUp, verifyRemotely } from '../helpers/flows.ts';
import { missing } from '../helpers/components.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp.ts';
import { freePort, startStack, type Stack } from '../helpers/stack.ts';

const RSYSLOGD = '/usr/sbin/rsyslogd';
const skip = await missing({
  name: 'rsyslog',
  install: 'apt-get install rsyslog',
  present: () => existsSync(RSYSLOGD),
});

test('the generated configurations: rsyslogd -N1 accepts both; bad options are refused', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'persona-rsyslog-check-'));
  for (const role of ['tier', 'collector'] as const) {
    const file = join(dir, `${role}.conf`);
    writeFileSync(
      file,
      rsyslogConfig({ role, collector: '127.0.0.1:6514', spoolDir: dir, logDir: dir, archiveDir: dir }),
    );
    const check = spawnSync(RSYSLOGD, ['-N1', '-f', file], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
  }
  const base = { role: 'tier', spoolDir: dir, logDir: dir } as const;
  assert.throws(() => rsyslogConfig({ ...base, collector: 'collector' }), /HOST:PORT/);
  assert.throws(() => rsyslogConfig({ ...base, collector: 'c:1', logDir: 'logs' }), /absolute/);
  assert.throws(() => rsyslogConfig({ ...base, collector: 'c:1', logDir: '/x"y' }), /no quotes/);
  rmSync(dir, { recursive: true, force: true });
});

describe('real rsyslog ships every tier’s JSON lines to a collector', { skip }, () => {
  let smtp: SmtpSink;
  let stack: Stack;
  let dir: string;
  const daemons: ChildProcess[] = [];
  const secrets: string[] = [];
  const NEW_PASSWORD = 'a brand new secret phrase';
  const email = 'shipping@example.com';

  const rsyslogd = (name: string, config: string): void => {
    const file = join(dir, `${name}.conf`);
    writeFileSync(file, config);
    const child = spawn(RSYSLOGD, ['-n', '-f', file, '-i', join(dir, `${name}.pid`)], { stdio: 'inherit' });
    daemons.push(child);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'persona-rsyslog-'));
    for (const sub of ['logs', 'archive', 'spool-tier', 'spool-collector']) mkdirSync(join(dir, sub));
    const port = await freePort();
    const collector = `127.0.0.1:${port}`;
    rsyslogd(
      'collector',
      rsyslogConfig({
        role: 'collector',
        collector,
        spoolDir: join(dir, 'spool-collector'),
        archiveDir: join(dir, 'archive'),
      }),
    );
    rsyslogd(
      'tier',
      rsyslogConfig({
        role: 'tier',
        collector,
        spoolDir: join(dir, 'spool-tier'),
        logDir: join(dir, 'logs'),
      }),
    );
    smtp = await startSmtpSink();
    stack = await startStack({
      env: { PERSONA_SMTP_URL: smtp.url, PERSONA_LOG_LEVEL: 'info', PERSONA_MAX_AUTH_ATTEMPTS: '2' },
      logDir: join(dir, 'logs'),
    });
  });

  after(async () => {
    await stack?.stop();
    await smtp?.close();
    await Promise.all(
      daemons.map(async (child) => {
        if (child.exitCode !== null) return;
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }),
    );
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const filesUnder = (root: string): string[] =>
    readdirSync(root).flatMap((entry) => {
      const path = join(root, entry);
      return statSync(path).isDirectory() ? filesUnder(path) : [path];
    });
  const linesIn = (root: string): string[] =>
    filesUnder(root).flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .filter((l) => l !== ''),
    );

  test('sign-up, sign-ins, a certificate, /verify and a reset: every line arrives intact, with request ids, and no secret', async () => {
    // The flows, remembering every secret they handle.
    const b = await signUp(stack.base, smtp, email);
    secrets.push(PASSWORD, tokenOf(smtp.messages[0]?.text));
    const wrong = await b.post('/wsapi/authenticate_user', {
      email,
      pass: 'not the password',
      ephemeral: false,
    });
    assert.equal((wrong.json() as { success: boolean }).success, false);
    secrets.push('not the password');
    const right = await b.post('/wsapi/authenticate_user', { email, pass: PASSWORD, ephemeral: false });
    assert.equal((right.json() as { success: boolean }).success, true, right.text);
    // A browser the account never used fails once more: with the first failure (b had not signed in yet)
    // that is PERSONA_MAX_AUTH_ATTEMPTS, so the account is locked for such browsers (a lockout event),
    // even with the right password, until the reset below.
    const stranger = browser(stack.base);
    await stranger.post('/wsapi/authenticate_user', { email, pass: 'not the password', ephemeral: false });
    const locked = await stranger.post('/wsapi/authenticate_user', {
      email,
      pass: PASSWORD,
      ephemeral: false,
    });
    assert.equal((locked.json() as { code?: string }).code, 'account locked', locked.text);
    const { backed } = await assertionFor(b, email);
    secrets.push(backed, backed.split('~')[0]!);
    assert.equal((await verifyRemotely(stack.base, backed)).status, 'okay');
    assert.equal((await verifyRemotely(stack.base, backed, 'https://other.example')).status, 'failure');

    const resetter = browser(stack.base);
    assert.equal((await resetter.post('/wsapi/stage_reset', { email, site: RP })).status, 200);
    const resetToken = tokenOf((await smtp.waitFor(email)).text);
    // A second reset mail at once is throttled: a rate-limit event.
    assert.equal((await resetter.post('/wsapi/stage_reset', { email, site: RP })).status, 429);
    secrets.push(resetToken);
    const reset = await resetter.post('/wsapi/complete_reset', { token: resetToken, pass: NEW_PASSWORD });
    assert.deepEqual(reset.json(), { success: true }, reset.text);
    secrets.push(NEW_PASSWORD);
    const again = browser(stack.base);
    const signedIn = await again.post('/wsapi/authenticate_user', {
      email,
      pass: NEW_PASSWORD,
      ephemeral: false,
    });
    assert.equal((signedIn.json() as { success: boolean }).success, true, signedIn.text);
    for (const jar of [b, stranger, resetter, again])
      for (const value of jar.cookies.values()) secrets.push(value);

    // Every line written arrives, unchanged. The tiers' last lines may still be on their way to the files:
    // wait for the flows' last event there first.
    const deadline = Date.now() + 60_000;
    const waitUntil = async (what: string, ok: () => string | undefined) => {
      for (;;) {
        const why = ok();
        if (why === undefined) return;
        if (Date.now() > deadline) assert.fail(`${what}: ${why}`);
        await sleep(250);
      }
    };
    let written: string[] = [];
    await waitUntil('the second sign-in written', () => {
      written = linesIn(join(dir, 'logs'));
      return written.filter((l) => l.includes('"event":"signin"')).length === 2 ? undefined : 'not yet';
    });
    let shipped: string[] = [];
    await waitUntil('every line shipped', () => {
      shipped = linesIn(join(dir, 'archive'));
      const arrived = new Set(shipped);
      const lost = written.filter((l) => !arrived.has(l));
      return lost.length === 0
        ? undefined
        : `${lost.length} of ${written.length} lines not shipped: ${lost[0]}`;
    });
    assert.ok(written.length > 30, `only ${written.length} lines written`);
    const entries = shipped.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.ok(entries.every((e) => typeof e.tier === 'string' && typeof e.time === 'number'));

    // The KPI and security events the flows cause, each with its fields and its request id.
    const events = (name: string) => entries.filter((e) => e.event === name);
    for (const name of [
      'user_staged',
      'account_created',
      'signin_failed',
      'signin',
      'cert_issued',
      'verify',
      'reset_staged',
      'password_reset',
      'rate_limited',
      'signin_locked',
    ] as const) {
      const found = events(name);
      assert.ok(found.length > 0, `no ${name} event shipped`);
      for (const e of found) {
        assert.match(String(e.reqId), /^[0-9a-f-]{36}$/, `${name} without a request id`);
        for (const field of EVENTS[name].fields) assert.ok(field in e, `${name} without ${field}`);
      }
    }
    assert.deepEqual(
      events('signin_failed').map((e) => e.reason),
      ['mismatch', 'mismatch'],
    );
    assert.deepEqual(
      events('rate_limited').map((e) => e.limit),
      ['email'],
    );
    assert.deepEqual(
      events('verify')
        .map((e) => `${String(e.result)} ${String(e.rp)}`)
        .sort(),
      [`failure https://other.example`, `okay ${RP}`],
    );

    // Requests across tiers: a certificate is logged by the keysigner under the id the router gave the
    // browser's cert_key, which the router and the webhead logged too; the account's creation by the dbwriter
    // under the router's id.
    const tiersOf = (e: Record<string, unknown>) =>
      [...new Set(entries.filter((x) => x.reqId === e.reqId).map((x) => x.tier))].sort();
    assert.deepEqual(tiersOf(events('cert_issued')[0]!), ['keysigner', 'router', 'webhead']);
    assert.deepEqual(tiersOf(events('account_created')[0]!), ['dbwriter', 'router']);

    // No secret in any shipped line, nor anything that looks like a cookie, an authorization or a JWT.
    const all = shipped.join('\n');
    for (const secret of secrets) {
      assert.ok(secret.length >= 8, `a secret too short to search: ${secret}`);
      assert.ok(!all.includes(secret), `a secret was shipped: ${secret.slice(0, 12)}…`);
    }
    assert.doesNotMatch(all, /"(cookie|set-cookie|authorization|x-persona-signature)":"(?!\[redacted\])/i);
    assert.doesNotMatch(all, /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
    assert.doesNotMatch(all, /token=[A-Za-z0-9]/);

    // The KPI summary of the shipped files: the CLI over the collector's files.
    const summary = summarise(shipped);
    const total = (name: keyof typeof EVENTS) => summary.hours.reduce((n, h) => n + (h.events[name] ?? 0), 0);
    assert.equal(total('account_created'), 1);
    assert.equal(total('signin'), 2);
    assert.equal(summary.unparsed, 0);
    const cli = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'ops', 'kpi', ...filesUnder(join(dir, 'archive'))],
      { encoding: 'utf8', env: { ...process.env, PERSONA_ENV: 'test', PERSONA_DATA_DIR: dir } },
    );
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /kpi +new users +1\n/);
    assert.match(cli.stdout, /security sign-in failures +2 {2}\(mismatch 2\)/);
    assert.match(cli.stdout, /security sign-ins refused: account locked +1\n/);
    assert.match(cli.stdout, /security staging refused: rate limit +1 {2}\(email 1\)/);
    assert.match(cli.stdout, /\/verify by relying party:\n +1 {2}https:\/\/rp\.example/);
    process.stderr.write(`rsyslog: ${shipped.length} lines shipped\n${cli.stdout}`);
  });
});
