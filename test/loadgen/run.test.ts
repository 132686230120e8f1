// `persona loadgen` against the whole stack as real processes (SQLite): a short run of every activity,
// mail through the loadgen's own SMTP sink with every link followed, no errors, the report written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadgenResult } from '../../src/loadgen/result.ts';
import { ACTIVITY_KINDS } from '../../src/loadgen/model.ts';
import { deploymentOf, localProcesses, processName } from '../../src/topology/index.ts';
import { freePort, startStack } from '../helpers/stack.ts';

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'loadgen', ...args], {
      env: { ...process.env, PERSONA_LOG_LEVEL: 'error' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('a 10 s run of every activity: no errors, mail links followed, accounts cleaned up, report written', async () => {
  const smtpPort = await freePort();
  const stack = await startStack({ env: { PERSONA_SMTP_URL: `smtp://127.0.0.1:${smtpPort}` } });
  const out = mkdtempSync(join(tmpdir(), 'persona-loadgen-'));
  try {
    const tiers = localProcesses(deploymentOf(stack.config))
      .map((p) => `${processName(p)}=${p.url}`)
      .join(',');
    // 25 accounts are more sign-ups than one client address may stage (20 in 10 minutes): seeding passes
    // only because the devices come from many addresses across 127.0.0.0/8.
    const { code, stdout, stderr } = await run([
      stack.base,
      '--users',
      '21600', // 10 activities/s
      '--duration',
      '10s',
      '--mix',
      'even',
      '--pool',
      '25',
      '--smtp',
      `127.0.0.1:${smtpPort}`,
      '--bcrypt-cost',
      '4',
      '--tiers',
      tiers,
      '--out',
      out,
      '--json',
    ]);
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout) as LoadgenResult;
    assert.equal(result.totals.failures, 0, JSON.stringify(result.errors));
    assert.equal(result.totals.http503, 0);
    for (const kind of ACTIVITY_KINDS)
      assert.ok((result.totals.completed[kind] ?? 0) > 0, `no ${kind} completed`);
    const c = result.totals.completed;
    // Each sign-up, reset and new address read its mail and followed the link.
    assert.equal(result.linksFollowed, (c.signup ?? 0) + (c.reset_pass ?? 0) + (c.add_email ?? 0));
    assert.ok(result.requestsByWhat['GET /verify_email_address'], 'sign-up links opened');
    assert.ok(result.requestsByWhat['GET /reset_password'], 'reset links opened');
    assert.ok(result.requestsByWhat['GET /confirm'], 'new-address links opened');
    assert.ok((result.requestsByWhat['POST /verify'] ?? 0) > 0, 'assertions checked at /verify');
    assert.deepEqual(result.cleanup, { cancelled: 25 + (c.signup ?? 0), failed: 0 });
    assert.ok(result.bcrypt.comparesPerSecond > 0);
    for (const name of ['router', 'webhead', 'dbwriter', 'loadgen'])
      assert.ok((result.tiers.find((t) => t.name === name)?.samples.length ?? 0) > 5, `${name} sampled`);
    assert.match(stderr, /held 21,600 active users: .* 0 failures, 0 503s/);
    const report = readFileSync(join(out, 'loadgen.html'), 'utf8');
    assert.equal((report.match(/<svg class="chart"/g) ?? []).length, 6);
    assert.ok(existsSync(join(out, 'loadgen.json')));
  } finally {
    await stack.stop();
    rmSync(out, { recursive: true, force: true });
  }
});
