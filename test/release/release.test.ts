/**
 * The release (issue 16): `npm pack` makes a tarball of compiled JavaScript and prebuilt browser bundles
 * that installs with production dependencies only and runs every tier with `persona serve <tier>`, no tsx
 * and no bundler. One pack and one install serve every assertion here (they cost most of the time).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { ensureLayout, layoutOf } from '../../src/cli/layout.ts';
import { runsJitless } from '../../src/ops/systemd.ts';
import { RUNNING_TIERS, type Tier } from '../../src/topology/index.ts';
import { assertionFor, signUp, verifyRemotely } from '../helpers/flows.ts';
import { HOST_PACKAGE, installRelease, packRelease, ROOT, type Release } from '../helpers/release.ts';
import { missing, onPath } from '../helpers/components.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp.ts';
import { freePort } from '../helpers/stack.ts';

/** The tiers a sign-in goes through (the bridge is not needed for it). */
const TIERS_RUN: readonly Tier[] = ['router', 'webhead', 'dbwriter', 'keysigner', 'verifier'];

/**
 * Runs a command under PR_SET_MDWE, the kernel's form of systemd's MemoryDenyWriteExecute (same rule:
 * no memory both writable and executable, none made executable later), as the signers' units do.
 */
const MDWE =
  'import ctypes, os, sys\nif ctypes.CDLL(None).prctl(65, 1, 0, 0, 0) != 0: sys.exit(99)\nos.execv(sys.argv[1], sys.argv[1:])';
const underMdwe = (argv: string[]) => spawnSync('python3', ['-c', MDWE, ...argv], { encoding: 'utf8' });
const noMdwe = await missing({
  name: 'PR_SET_MDWE (Linux 6.3+, through python3)',
  install: 'a Linux 6.3+ kernel and apt-get install python3',
  present: () => onPath('python3') && underMdwe(['/bin/true']).status === 0,
});

let release: Release;
let installed: string;

before(() => {
  release = packRelease();
  installed = installRelease(release, join(release.dir, 'host'));
});

after(() => {
  rmSync(release.dir, { recursive: true, force: true });
});

describe('the tarball', () => {
  test('ships compiled JavaScript, the browser bundles, bin/ and the migrations; no sources, tests or infra', () => {
    const files = new Set(release.files);
    for (const needed of [
      'package.json',
      'bin/persona.js',
      'dist/cli/main.js',
      'dist/db/migrations/index.js',
      'dist-browser/include.js',
      'dist-browser/dialog.js',
    ])
      assert.ok(files.has(needed), `${needed} is in the tarball`);
    for (const tier of TIERS_RUN) assert.ok(files.has(`dist/tiers/${tier}/index.js`), tier);
    const stray = release.files.filter(
      (f) =>
        /^(src|test|bench|infra|docs)\//.test(f) ||
        (f.endsWith('.ts') && !f.endsWith('.d.ts')) ||
        f.startsWith('dist/browser/'),
    );
    assert.deepEqual(stray, []);
  });

  test('installs without dev dependencies: no tsx, no TypeScript, no bundler', () => {
    const modules = join(installed, '..');
    for (const dev of ['tsx', 'typescript', 'esbuild', 'smtp-server', 'aws-cdk-lib'])
      assert.equal(existsSync(join(modules, dev)), false, `${dev} is not installed`);
    assert.ok(existsSync(join(modules, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')));
    const version = spawnSync(process.execPath, [join(installed, 'bin', 'persona.js'), '--version'], {
      encoding: 'utf8',
    });
    assert.match(version.stdout, /^persona \d+\.\d+\.\d+/);
  });
});

describe('the installed release signs someone in', () => {
  const children: ChildProcess[] = [];
  const output: string[] = [];
  let smtp: SmtpSink;
  let base: string;
  let dataDir: string;

  before(async () => {
    smtp = await startSmtpSink();
    dataDir = mkdtempSync(join(tmpdir(), 'persona-release-data-'));
    const ports = Object.fromEntries(
      await Promise.all(TIERS_RUN.map(async (tier) => [tier, await freePort()] as const)),
    ) as Record<Tier, number>;
    base = `http://127.0.0.1:${ports.router}`;
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: dataDir,
      PERSONA_ENV: 'production',
      PERSONA_DATA_DIR: dataDir,
      PERSONA_PUBLIC_URL: base,
      PERSONA_SMTP_URL: smtp.url,
      PERSONA_BCRYPT_COST: '4',
      PERSONA_LOG_LEVEL: 'warn',
      // The machine is shared and slow: no shedding on a late tick while the tiers warm up.
      PERSONA_MAX_EVENT_LOOP_LAG_MS: '0',
      ...Object.fromEntries(
        TIERS_RUN.map((tier) => [`PERSONA_${tier.toUpperCase()}_PORT`, String(ports[tier])]),
      ),
    };
    // The secrets a fleet is given (Secrets Manager on AWS): made here as `persona start` makes them.
    ensureLayout(layoutOf(loadConfig({ env })));
    const persona = join(installed, 'bin', 'persona.js');
    const migrated = spawnSync(process.execPath, [persona, 'migrate'], { env, encoding: 'utf8' });
    assert.equal(migrated.status, 0, migrated.stderr);
    for (const tier of TIERS_RUN) {
      // As its systemd unit runs it (src/ops/systemd.ts): the signers jitless, under MemoryDenyWriteExecute.
      const argv = [
        process.execPath,
        ...(runsJitless(tier) ? ['--jitless'] : []),
        '--max-semi-space-size=2',
        persona,
        'serve',
        tier,
      ];
      const [command, args] =
        runsJitless(tier) && noMdwe === undefined
          ? ['python3', ['-c', MDWE, ...argv]]
          : [process.execPath, argv.slice(1)];
      const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      for (const stream of [child.stdout, child.stderr])
        stream.on('data', (chunk: Buffer) => output.push(`${tier}: ${chunk.toString()}`));
      children.push(child);
    }
    const deadline = Date.now() + 60_000;
    for (const tier of TIERS_RUN) {
      for (;;) {
        const ok = await fetch(`http://127.0.0.1:${ports[tier]}/__heartbeat__`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`${tier} did not come up:\n${output.join('')}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  });

  after(async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    await smtp.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('every tier runs from dist/', () => {
    assert.equal(children.filter((c) => c.exitCode !== null).length, 0, output.join(''));
  });

  test(
    "node's JIT aborts under MemoryDenyWriteExecute; --jitless runs (why only the signers get it)",
    { skip: noMdwe },
    () => {
      const loop = 'let s = 0; for (let i = 0; i < 1e6; i++) s += i; console.log(s)';
      const jit = underMdwe([process.execPath, '-e', loop]);
      assert.notEqual(
        jit.status,
        0,
        'node with its JIT runs under MDWE: the units could enable it everywhere',
      );
      assert.notEqual(jit.status, 99, 'PR_SET_MDWE is refused by this kernel');
      const jitless = underMdwe([process.execPath, '--jitless', '-e', loop]);
      assert.equal(jitless.status, 0, jitless.stderr);
      assert.equal(jitless.stdout.trim(), '499999500000');
    },
  );

  test('the webhead serves the prebuilt include.js', async () => {
    const res = await fetch(`${base}/include.js`);
    assert.equal(res.status, 200);
    assert.ok((await res.text()).includes('navigator'));
  });

  test('sign up by mail, certify a key, and /verify accepts the assertion', async () => {
    const email = 'release@example.com';
    const b = await signUp(base, smtp, email);
    const { backed } = await assertionFor(b, email);
    const verified = await verifyRemotely(base, backed);
    assert.equal(verified.status, 'okay', JSON.stringify(verified));
    assert.equal(verified.email, email);
  });
});

/**
 * The Containerfile cannot be built here (no container daemon, no registry): what can be checked is that
 * it copies what the tree has, installs the release as the test above does, and runs a file the tarball has.
 */
describe('the Containerfile', () => {
  const text = readFileSync(join(ROOT, 'Containerfile'), 'utf8').replace(/\\\n/g, ' ');
  const lines = text.split('\n').filter((line) => !line.startsWith('#'));
  const stages = text.split(/^FROM /m).slice(1);

  test('two stages; the second runs as a user of its own, not root', () => {
    assert.equal(stages.length, 2);
    const run = stages[1] ?? '';
    assert.match(run, /^USER persona$/m);
    assert.ok(!/^USER root/m.test(run));
    assert.match(run, /useradd --system/);
  });

  test('every source it copies is in the tree', () => {
    for (const line of lines.filter((l) => l.startsWith('COPY ') && !l.includes('--from='))) {
      const sources = line.split(/\s+/).slice(1, -1);
      for (const source of sources) assert.ok(existsSync(join(ROOT, source)), `${source} (${line})`);
    }
  });

  test('installs the release as the install test does, and runs a file the tarball has, the tier its command', () => {
    const run = stages[1] ?? '';
    assert.ok(
      run.includes(`'${JSON.stringify(HOST_PACKAGE)}'`),
      'the host package.json differs from the tested one',
    );
    assert.match(run, /npm_config_better_sqlite3_local_prebuilds=\/tmp\/release\/prebuilds/);
    assert.match(run, /npm install --omit=dev/);
    const entrypoint = JSON.parse(/^ENTRYPOINT (.*)$/m.exec(run)?.[1] ?? '[]') as string[];
    const script = entrypoint.find((arg) => arg.includes('/node_modules/persona-ts/'));
    assert.ok(script, 'the entrypoint runs the installed package');
    const inPackage = script.split('/node_modules/persona-ts/')[1] ?? '';
    assert.ok(release.files.includes(inPackage), `${inPackage} is not in the tarball`);
    assert.equal(entrypoint.at(-1), 'serve');
    const tier = JSON.parse(/^CMD (.*)$/m.exec(run)?.[1] ?? '[]') as string[];
    assert.equal(tier.length, 1);
    assert.ok(RUNNING_TIERS.includes(tier[0] as Tier));
  });
});
