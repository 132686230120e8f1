/** `persona ops systemd` (src/ops/systemd.ts): one sandboxed unit per tier, checked by systemd itself. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  environmentTemplate,
  runsJitless,
  secretSettingsOf,
  systemdCommand,
  systemdUnit,
  unitName,
} from '../../src/ops/systemd.ts';
import { RUNNING_TIERS, TIERS, type Tier } from '../../src/topology/index.ts';
import { missing, onPath } from '../helpers/components.ts';

const skip = await missing({
  name: 'systemd-analyze',
  install: 'apt-get install systemd',
  present: () => onPath('systemd-analyze'),
});

/** `systemd-analyze verify` on unit files: its complaints about them (it also lints the host's own units). */
function verify(dir: string, files: readonly string[]): { status: number | null; complaints: string[] } {
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...files.map((f) => join(dir, f))], {
    encoding: 'utf8',
  });
  const complaints = `${r.stdout}\n${r.stderr}`.split('\n').filter((line) => line.includes('persona-'));
  return { status: r.status, complaints };
}

const directives = (unit: string, key: string): string[] =>
  unit
    .split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1));

describe('persona ops systemd', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'persona-systemd-'));
    const quiet = process.stdout.write.bind(process.stdout);
    process.stdout.write = () => true;
    try {
      assert.equal(systemdCommand(['--out', dir]), 0);
    } finally {
      process.stdout.write = quiet;
    }
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('systemd-analyze verify accepts every unit', { skip }, () => {
    const { status, complaints } = verify(dir, RUNNING_TIERS.map(unitName));
    assert.deepEqual(complaints, []);
    assert.equal(status, 0);
  });

  test('systemd-analyze verify does flag a broken unit (the check can fail)', { skip }, () => {
    const broken = systemdUnit('router').replace('ProtectSystem=strict', 'ProtectSystem=sometimes');
    writeFileSync(
      join(dir, 'persona-broken.service'),
      broken.replace(/^ExecStart=\S+/m, 'ExecStart=/nonexistent/node'),
    );
    const { status, complaints } = verify(dir, ['persona-broken.service']);
    assert.ok(status !== 0 || complaints.length > 0, 'a broken unit passes verify');
    assert.ok(
      complaints.some((line) => /ProtectSystem|nonexistent/.test(line)),
      complaints.join('\n'),
    );
  });

  test('each tier: its own user, the sandbox, a restart policy and two environment files', () => {
    for (const tier of RUNNING_TIERS) {
      const unit = readFileSync(join(dir, unitName(tier)), 'utf8');
      assert.deepEqual(directives(unit, 'User'), [`persona-${tier}`]);
      assert.match(directives(unit, 'ExecStart')[0] ?? '', new RegExp(`persona\\.js serve ${tier}$`));
      for (const [key, value] of [
        ['ProtectSystem', 'strict'],
        ['ProtectHome', 'yes'],
        ['PrivateTmp', 'yes'],
        ['NoNewPrivileges', 'yes'],
        ['CapabilityBoundingSet', ''],
        ['RestrictAddressFamilies', 'AF_INET AF_INET6 AF_UNIX'],
        ['Restart', 'on-failure'],
      ] as const)
        assert.deepEqual(directives(unit, key), [value], `${tier} ${key}`);
      assert.ok(directives(unit, 'SystemCallFilter').includes('@system-service'), tier);
      assert.deepEqual(directives(unit, 'EnvironmentFile'), [
        '/etc/persona/persona.env',
        `/etc/persona/${tier}.env`,
      ]);
      assert.deepEqual(directives(unit, 'StateDirectory'), [`persona-${tier}`]);
    }
  });

  test('MemoryDenyWriteExecute only for the jitless signers (the JIT aborts under it)', () => {
    const jitless = RUNNING_TIERS.filter(runsJitless);
    assert.ok(jitless.includes('keysigner'));
    for (const tier of ['router', 'webhead', 'dbwriter', 'verifier'] as const)
      assert.ok(!jitless.includes(tier), tier);
    for (const tier of RUNNING_TIERS) {
      const unit = systemdUnit(tier);
      const mdwe = directives(unit, 'MemoryDenyWriteExecute');
      assert.deepEqual(mdwe, runsJitless(tier) ? ['yes'] : [], tier);
      assert.equal(directives(unit, 'ExecStart')[0]?.includes('--jitless'), runsJitless(tier), tier);
    }
  });

  test("a tier's environment file names only the secrets that tier holds", () => {
    const expected: Partial<Record<Tier, string[]>> = {
      router: [],
      webhead: ['PERSONA_DATABASE_READ_URL'],
      dbwriter: ['PERSONA_DATABASE_URL', 'PERSONA_SMTP_URL'],
      keysigner: [],
      verifier: [],
    };
    for (const [tier, settings] of Object.entries(expected) as [Tier, string[]][]) {
      assert.deepEqual(secretSettingsOf(tier).sort(), settings, tier);
      const file = readFileSync(join(dir, `${tier}.env`), 'utf8');
      assert.equal(file, environmentTemplate(tier));
      const named = file
        .split('\n')
        .filter((l) => /^PERSONA_/.test(l))
        .map((l) => l.split('=')[0]);
      assert.deepEqual(named.sort(), settings, tier);
    }
    // No secret setting is given to two tiers that do not both hold it.
    for (const tier of RUNNING_TIERS)
      for (const setting of secretSettingsOf(tier))
        for (const other of RUNNING_TIERS)
          if (secretSettingsOf(other).includes(setting))
            assert.ok(
              TIERS[other].holds.some((h) => TIERS[tier].holds.includes(h)),
              `${setting}: ${tier} and ${other}`,
            );
  });
});
