/**
 * `persona check` (issue 12), the nagios plugin: its output format and latency states as units, then
 * against a real stack: every check OK, a tiny threshold goes CRITICAL with perfdata, a foreign domain key
 * fails /verify and the support document, a missing database is CRITICAL, a killed keysigner makes its
 * heartbeat, certificate signing and the router's deep heartbeat CRITICAL and they recover after the
 * restart; the CLI's exit codes and single status line.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CRITICAL,
  formatPerf,
  formatResult,
  latencyStatus,
  OK,
  runCheck,
  UNKNOWN,
  WARNING,
  worst,
  type CheckName,
  type CheckOptions,
  type CheckResult,
} from '../../src/check/index.ts';
import { generateDomainKeys } from '../../src/cli/keys.ts';
import type { Config } from '../../src/config/settings.ts';
import { deploymentOf, instancesOf, type Tier } from '../../src/topology/index.ts';
import { freePort, startStack, type Stack } from '../helpers/stack.ts';

describe('plugin output', () => {
  test('perfdata follows the nagios format, trailing empty fields dropped', () => {
    assert.equal(
      formatPerf({ label: 'time', value: 0.0123, uom: 's', warn: 1, crit: 3, min: 0, max: 10 }),
      'time=0.0123s;1;3;0;10',
    );
    assert.equal(formatPerf({ label: 'pending migrations', value: 2, min: 0 }), "'pending migrations'=2;;;0");
    assert.equal(formatPerf({ label: 'n', value: 1 }), 'n=1');
  });

  test('one line: service, state, message without pipes or newlines, perfdata', () => {
    const line = formatResult('deep', {
      status: CRITICAL,
      message: 'router: webhead: keysigner: no answer\nsecond | line',
      perf: [{ label: 'time', value: 1, uom: 's' }],
    });
    assert.equal(line, 'PERSONA DEEP CRITICAL - router: webhead: keysigner: no answer second line | time=1s');
    assert.equal(formatResult('db', { status: UNKNOWN, message: 'x', perf: [] }), 'PERSONA DB UNKNOWN - x');
  });

  test('latency thresholds: reaching one counts', () => {
    assert.equal(latencyStatus(999, 1000, 3000), OK);
    assert.equal(latencyStatus(1000, 1000, 3000), WARNING);
    assert.equal(latencyStatus(2999, 1000, 3000), WARNING);
    assert.equal(latencyStatus(3000, 1000, 3000), CRITICAL);
  });

  test('the worse state: CRITICAL over WARNING over UNKNOWN over OK', () => {
    assert.equal(worst(OK, WARNING), WARNING);
    assert.equal(worst(CRITICAL, WARNING), CRITICAL);
    assert.equal(worst(UNKNOWN, OK), UNKNOWN);
    assert.equal(worst(WARNING, UNKNOWN), WARNING);
  });
});

describe('against a real stack', () => {
  let stack: Stack;
  before(async () => {
    // A long restart delay: a killed tier stays down long enough to be seen.
    stack = await startStack({ restartDelayMs: 4000 });
  });
  after(async () => {
    await stack?.stop();
  });

  const urlOf = (tier: Tier): string => instancesOf(deploymentOf(stack.config), tier)[0]!.url;
  const check = (
    check: CheckName,
    tier: Tier | undefined,
    extra: Partial<CheckOptions> = {},
  ): Promise<CheckResult> =>
    runCheck({
      check,
      tier,
      url: tier ? urlOf(tier) : stack.base,
      warningMs: 2000,
      criticalMs: 5000,
      timeoutMs: 8000,
      audience: 'https://nagios.invalid',
      config: stack.config,
      ...extra,
    });
  const ok = (r: CheckResult) => assert.equal(r.status, OK, r.message);

  /** The settings the CLI needs to find this stack. */
  const envOf = (config: Config): NodeJS.ProcessEnv => ({
    ...process.env,
    PERSONA_ENV: 'test',
    PERSONA_DATA_DIR: config.dataDir,
    PERSONA_PUBLIC_URL: config.publicUrl,
    PERSONA_ROUTER_PORT: String(config.routerPort),
    PERSONA_WEBHEAD_PORT: String(config.webheadPort),
    PERSONA_DBWRITER_PORT: String(config.dbwriterPort),
    PERSONA_KEYSIGNER_PORT: String(config.keysignerPort),
    PERSONA_VERIFIER_PORT: String(config.verifierPort),
  });
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'check', ...args], {
      env: envOf(stack.config),
      encoding: 'utf8',
      timeout: 60_000,
    });

  test('every check is OK on a healthy stack, with timing perfdata', async () => {
    for (const tier of ['router', 'webhead', 'dbwriter', 'keysigner', 'verifier'] as const) {
      const shallow = await check('heartbeat', tier);
      ok(shallow);
      assert.equal(shallow.perf[0]?.label, 'time');
      ok(await check('deep', tier));
    }
    const verify = await check('verify', undefined);
    ok(verify);
    assert.match(verify.message, /\/verify said okay/);
    ok(await check('verify', 'verifier')); // signed as the router, straight to the verifier
    ok(await check('support', undefined));
    ok(await check('cert', 'keysigner'));
    const db = await check('db', 'dbwriter');
    ok(db);
    assert.deepEqual(
      db.perf.find((p) => p.label === 'pending_migrations'),
      { label: 'pending_migrations', value: 0, min: 0 },
    );
  });

  test('a latency over the critical threshold is CRITICAL, over the warning one WARNING', async () => {
    const critical = await check('heartbeat', 'router', { warningMs: 0.0001, criticalMs: 0.0002 });
    assert.equal(critical.status, CRITICAL, critical.message);
    assert.match(critical.message, /critical at 0.0002 ms/);
    const warning = await check('heartbeat', 'router', { warningMs: 0.0001, criticalMs: 60_000 });
    assert.equal(warning.status, WARNING, warning.message);
  });

  test('another domain key: /verify refuses the assertion and the support document is not ours', async () => {
    const other = mkdtempSync(join(tmpdir(), 'persona-check-'));
    generateDomainKeys(join(other, 'keys'));
    const config = { ...stack.config, dataDir: other };
    const verify = await check('verify', undefined, { config });
    assert.equal(verify.status, CRITICAL, verify.message);
    const support = await check('support', undefined, { config });
    assert.equal(support.status, CRITICAL, support.message);
    assert.match(support.message, /another key/);
  });

  test('no database there: the db check is CRITICAL', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'persona-check-'));
    const result = await check('db', 'dbwriter', { config: { ...stack.config, dataDir: empty } });
    assert.equal(result.status, CRITICAL, result.message);
  });

  test('the CLI: exit codes, one status line, unknown targets, a closed port', async () => {
    const good = cli('router', '--check', 'deep');
    assert.equal(good.status, 0, good.stdout + good.stderr);
    assert.match(
      good.stdout,
      /^PERSONA DEEP OK - router at http:\/\/127\.0\.0\.1:\d+: deep heartbeat ok in \d+ ms \| time=[\d.]+s;1;3;0;10\n$/,
    );
    const cert = cli('keysigner', '--check', 'cert', '-w', '0.0001', '-c', '60000');
    assert.equal(cert.status, 1, cert.stdout);
    assert.match(cert.stdout, /^PERSONA CERT WARNING - /);
    const unknown = cli('nowhere');
    assert.equal(unknown.status, 3, unknown.stdout);
    assert.match(unknown.stdout, /^PERSONA CHECK UNKNOWN - nowhere is neither a tier/);
    const closed = cli(`http://127.0.0.1:${await freePort()}`, '-t', '2');
    assert.equal(closed.status, 2, closed.stdout);
    assert.match(closed.stdout, /^PERSONA HEARTBEAT CRITICAL - .*ECONNREFUSED/);
  });

  test('a killed keysigner: its heartbeat, certificate signing and the deep heartbeats go CRITICAL, then recover', async () => {
    const pid = stack.supervisor.pid('keysigner');
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    await sleep(300);
    const heartbeat = await check('heartbeat', 'keysigner');
    assert.equal(heartbeat.status, CRITICAL, heartbeat.message);
    assert.match(heartbeat.message, /ECONNREFUSED/);
    const cert = await check('cert', 'keysigner');
    assert.equal(cert.status, CRITICAL, cert.message);
    const deep = await check('deep', 'router');
    assert.equal(deep.status, CRITICAL, deep.message);
    assert.match(deep.message, /keysigner/);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const again = await check('cert', 'keysigner');
      if (again.status === OK) break;
      assert.ok(Date.now() < deadline, `still ${again.message}`);
      await sleep(500);
    }
    ok(await check('deep', 'router'));
  });
});
