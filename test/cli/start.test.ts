/**
 * `persona start` as a person runs it: a port another process holds, help and version, and every way of
 * stopping it (Ctrl-C, a second Ctrl-C, SIGTERM, the supervisor killed outright) leaving no tier behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { portTaken } from '../../src/cli/ports.ts';

const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

/** A port base whose first ten ports are free (the stack uses base + 0…7). */
async function freeBase(): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 400) * 100;
    const taken = await Promise.all(Array.from({ length: 10 }, (_, i) => portTaken('127.0.0.1', base + i)));
    if (!taken.some(Boolean)) return base;
  }
}

function envFor(base: number, dataDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PERSONA_PORT_BASE: String(base),
    PERSONA_DATA_DIR: dataDir,
    PERSONA_EXAMPLES: '0',
    PERSONA_BCRYPT_COST: '4',
    PERSONA_LOG_LEVEL: 'warn',
  };
}

interface Run {
  readonly child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

function run(args: string[], env: NodeJS.ProcessEnv): Run {
  const started = Date.now();
  const child = spawn(process.execPath, [...CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>(
    (resolve) => {
      child.on('exit', (code, signal) => {
        resolve({ code, signal, ms: Date.now() - started });
      });
    },
  );
  return { child, output: () => text, exited };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The supervisor's live children (not zombies awaiting their reaping): the tier processes. */
function childrenOf(pid: number): number[] {
  const ps = spawnSync('ps', ['-o', 'pid=,stat=', '--ppid', String(pid)], { encoding: 'utf8' });
  return ps.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([child, stat]) => child && !stat?.startsWith('Z'))
    .map(([child]) => Number(child));
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('a port another process holds stops the start within 5 s, naming the port, the tier and the setting', async (t) => {
  const base = await freeBase();
  const dataDir = mkdtempSync(join(tmpdir(), 'persona-start-'));
  // The other process even answers a heartbeat with ok: it must not pass for our router.
  const impostor: Server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => impostor.listen(base + 2, '127.0.0.1', resolve));
  t.after(() => {
    impostor.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const start = run(['start'], envFor(base, dataDir));
  const { code, ms } = await start.exited;
  const output = start.output();
  assert.notEqual(code, 0, output);
  assert.ok(ms < 5000, `exited after ${ms} ms`);
  assert.match(output, new RegExp(`port 127\\.0\\.0\\.1:${base + 2} for the router is taken`));
  assert.match(output, /PERSONA_PORT_BASE/);
  assert.match(output, /PERSONA_ROUTER_PORT/);
  assert.doesNotMatch(output, /Persona is running/);
});

test('--help on every command prints help and starts nothing; --version prints the version', async (t) => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'persona-help-')), 'never-made');
  t.after(() => rmSync(join(dataDir, '..'), { recursive: true, force: true }));
  const env = envFor(await freeBase(), dataDir);
  for (const args of [
    ['--help'],
    ['help'],
    ['start', '--help'],
    ['serve', '--help'],
    ['serve', 'router', '--help'],
    ['migrate', '--help'],
    ['keys', '--help'],
  ]) {
    const r = spawnSync(process.execPath, [...CLI, ...args], { env, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /Usage/, args.join(' '));
  }
  assert.ok(!existsSync(dataDir), 'help made no data directory');
  const version = JSON.parse(readFileSync('package.json', 'utf8')).version as string;
  for (const flag of ['--version', 'version']) {
    const r = spawnSync(process.execPath, [...CLI, flag], { env, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0);
    assert.equal(r.stdout.trim(), `persona ${version}`);
  }
});

for (const way of ['Ctrl-C', 'a second Ctrl-C', 'SIGTERM', 'the supervisor killed outright'] as const) {
  test(`stopped by ${way}, the stack leaves no tier process and no held port`, async (t) => {
    const base = await freeBase();
    const dataDir = mkdtempSync(join(tmpdir(), 'persona-stop-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const start = run(['start'], envFor(base, dataDir));
    t.after(() => start.child.kill('SIGKILL'));
    await until('Persona is running', () => /Persona is running/.test(start.output()), 120_000);
    const tiers = childrenOf(start.child.pid!);
    assert.equal(
      tiers.length,
      5,
      `${start.output()}
${spawnSync('ps', ['-o', 'pid,stat,args', '--ppid', String(start.child.pid)], { encoding: 'utf8' }).stdout}`,
    );
    const ports = [0, 2, 3, 4, 7].map((offset) => base + offset);
    for (const port of ports) assert.ok(await portTaken('127.0.0.1', port), `${port} in use while running`);

    if (way === 'Ctrl-C') start.child.kill('SIGINT');
    if (way === 'SIGTERM') start.child.kill('SIGTERM');
    if (way === 'a second Ctrl-C') {
      start.child.kill('SIGINT');
      await new Promise((resolve) => setTimeout(resolve, 50));
      start.child.kill('SIGINT');
    }
    if (way === 'the supervisor killed outright') start.child.kill('SIGKILL');
    await start.exited;
    await until('every tier gone', () => tiers.every((pid) => !alive(pid)), 15_000);
    for (const port of ports) assert.equal(await portTaken('127.0.0.1', port), false, `${port} still held`);
  });
}
