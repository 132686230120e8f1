/**
 * `npm run bench:memory`: the whole local stack's memory at idle, as `npm start` runs it (the supervisor and
 * every tier from compiled JavaScript, the examples in one process), per process and in total; beside it in
 * the same run, the same stack run from the TypeScript source through tsx, and a bare Node process.
 *
 * RSS counts pages shared between processes (Node's own code) once per process, so its sum overstates what
 * the stack takes; PSS divides shared pages among their users and sums to the real figure. Both are shown.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { portTaken } from '../src/cli/ports.ts';

const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 5000);

interface Memory {
  readonly pid: number;
  readonly name: string;
  readonly rssMb: number;
  readonly pssMb: number;
}

function memoryOf(pid: number, name: string): Memory {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0);
  return { pid, name, rssMb: kb('Rss') / 1024, pssMb: kb('Pss') / 1024 };
}

/** The process and all its descendants, named by what they run. */
function tree(root: number): { pid: number; name: string }[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' }).stdout;
  const rows = ps
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3] ?? '' }));
  const found = [{ pid: root, name: 'supervisor' }];
  for (let i = 0; i < found.length; i++) {
    for (const row of rows.filter((r) => r.ppid === found[i]!.pid)) {
      const serve = /serve (\S+)(?: --instance (\d+))?/.exec(row.args);
      const name = serve
        ? `${serve[1]}${serve[2] && serve[2] !== '0' ? `#${Number(serve[2]) + 1}` : ''}`
        : row.args.slice(0, 40);
      found.push({ pid: row.pid, name });
    }
  }
  return found;
}

async function freeBase(): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 400) * 100;
    const taken = await Promise.all(Array.from({ length: 10 }, (_, i) => portTaken('127.0.0.1', base + i)));
    if (!taken.some(Boolean)) return base;
  }
}

/** Starts a stack with `command`, waits until it is running and idle, measures it, stops it. */
async function measure(label: string, command: string[]): Promise<Memory[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'persona-memory-'));
  const child = spawn(command[0]!, command.slice(1), {
    env: {
      ...process.env,
      PERSONA_DATA_DIR: dataDir,
      PERSONA_PORT_BASE: String(await freeBase()),
      PERSONA_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 180_000;
  while (!output.includes('Persona is running')) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`${label} did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  const figures = tree(child.pid!).map(({ pid, name }) => memoryOf(pid, name));
  child.kill('SIGINT');
  await new Promise((resolve) => child.once('exit', resolve));
  rmSync(dataDir, { recursive: true, force: true });
  return figures;
}

const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
await new Promise((resolve) => setTimeout(resolve, 1000));
const bareMemory = memoryOf(bare.pid!, 'bare node');
bare.kill();

const compiled = await measure('npm start', [process.execPath, 'scripts/start.mjs']);
const source = await measure('from source', [
  process.execPath,
  '--import',
  'tsx',
  'src/cli/main.ts',
  'start',
]);

const sum = (figures: Memory[], key: 'rssMb' | 'pssMb') => figures.reduce((n, f) => n + f[key], 0);
const mb = (n: number) => `${n.toFixed(0)} MB`.padStart(8);
console.log(`bench:memory — Node ${process.version}, idle ${IDLE_MS} ms after "Persona is running"\n`);
console.log(
  `  ${'process'.padEnd(14)} ${'RSS'.padStart(8)} ${'PSS'.padStart(8)}   (npm start: compiled, lean supervisor)`,
);
for (const f of compiled) console.log(`  ${f.name.padEnd(14)} ${mb(f.rssMb)} ${mb(f.pssMb)}`);
console.log(
  `  ${'total'.padEnd(14)} ${mb(sum(compiled, 'rssMb'))} ${mb(sum(compiled, 'pssMb'))}   (${compiled.length} processes)`,
);
console.log(
  `\n  from source through tsx, same stack: RSS ${mb(sum(source, 'rssMb')).trim()}, PSS ${mb(sum(source, 'pssMb')).trim()} (${source.length} processes)`,
);
console.log(
  `  a bare Node process:                RSS ${mb(bareMemory.rssMb).trim()}, PSS ${mb(bareMemory.pssMb).trim()}`,
);
console.log(
  `\n  npm start / from source: RSS ×${(sum(compiled, 'rssMb') / sum(source, 'rssMb')).toFixed(2)}, PSS ×${(sum(compiled, 'pssMb') / sum(source, 'pssMb')).toFixed(2)}; ` +
    `per process ${(sum(compiled, 'rssMb') / compiled.length / bareMemory.rssMb).toFixed(2)}× a bare Node's RSS`,
);
