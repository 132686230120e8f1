/**
 * `npm run bench:db`: operations per second of the data layer's hot operations on SQLite and MariaDB in
 * one run — an email lookup (the webhead's address_info read), a staging (every stage_* write) and a
 * sign-up completion (a transaction over three tables) — each for a few seconds with several calls in
 * flight, as a busy tier would issue them. MariaDB is 127.0.0.1:3306 as root (a throwaway database,
 * dropped after); when it does not answer, its column says so.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import bcrypt from 'bcrypt';
import mysql from 'mysql2/promise';
import {
  databaseSettings,
  migrateToLatest,
  openReader,
  openWriter,
  type Reader,
  type Writer,
} from '../src/db/write.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const IN_FLIGHT = 16;
const SEED_ACCOUNTS = 2000;
const HASH = bcrypt.hashSync('benchmark password', 4);

interface Result {
  readonly opsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
}

/** Runs `op` with IN_FLIGHT callers for SECONDS (or until `op` says it ran out); returns throughput. */
async function measure(op: (i: number) => Promise<boolean | undefined>): Promise<Result> {
  const latencies: number[] = [];
  let next = 0;
  let exhausted = false;
  const start = performance.now();
  const until = start + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (!exhausted && performance.now() < until) {
        const t = performance.now();
        if ((await op(next++)) === false) {
          exhausted = true;
          break;
        }
        latencies.push(performance.now() - t);
      }
    }),
  );
  const took = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { opsPerSecond: latencies.length / took, p50: at(0.5), p99: at(0.99) };
}

async function seed(writer: Writer): Promise<string[]> {
  const addresses = Array.from(
    { length: SEED_ACCOUNTS },
    (_, i) => `seed${i}.${randomBytes(3).toString('hex')}@example.com`,
  );
  for (let i = 0; i < addresses.length; i += IN_FLIGHT)
    await Promise.all(
      addresses
        .slice(i, i + IN_FLIGHT)
        .map(async (a) => writer.completeCreateUser(await writer.stageUser(a, HASH))),
    );
  return addresses;
}

async function run(writer: Writer, reader: Reader): Promise<Record<string, Result>> {
  const addresses = await seed(writer);
  const lookup = await measure(async (i) => {
    const email = addresses[(i * 7919) % addresses.length] ?? '';
    if ((await reader.emailInfo(email)) === undefined) throw new Error(`lost ${email}`);
    return undefined;
  });
  const secrets: string[] = [];
  const run = randomBytes(3).toString('hex');
  const staging = await measure(async (i) => {
    secrets.push(await writer.stageUser(`new${i}.${run}@example.com`, HASH));
    return undefined;
  });
  const completion = await measure(async () => {
    const secret = secrets.pop();
    if (secret === undefined) return false;
    await writer.completeCreateUser(secret);
    return undefined;
  });
  return {
    'email lookup (read: emailInfo)': lookup,
    'staging (write: stageUser)': staging,
    'completion (write: completeCreateUser)': completion,
  };
}

async function sqlite(): Promise<Record<string, Result>> {
  const dir = mkdtempSync(join(tmpdir(), 'persona-bench-'));
  try {
    const settings = databaseSettings({ url: `sqlite:${join(dir, 'bench.sqlite')}` });
    await migrateToLatest(settings.write);
    const writer = openWriter(settings);
    const reader = openReader(settings);
    try {
      return await run(writer, reader);
    } finally {
      await Promise.all([writer.close(), reader.close()]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function mariadb(): Promise<Record<string, Result> | string> {
  let admin: mysql.Connection;
  try {
    admin = await mysql.createConnection({
      host: '127.0.0.1',
      port: 3306,
      user: 'root',
      connectTimeout: 2000,
    });
  } catch (err) {
    return `not reachable (${(err as Error).message})`;
  }
  const name = `persona_bench_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    const settings = databaseSettings({ url: `mysql://root@127.0.0.1:3306/${name}` });
    await migrateToLatest(settings.write);
    const writer = openWriter(settings);
    const reader = openReader(settings);
    try {
      return await run(writer, reader);
    } finally {
      await Promise.all([writer.close(), reader.close()]);
    }
  } finally {
    await admin.query(`DROP DATABASE ${name}`);
    await admin.end();
  }
}

const started = performance.now();
const columns = { sqlite: await sqlite(), mariadb: await mariadb() };
const cell = (r: Result | undefined) =>
  r === undefined
    ? '—'
    : `${Math.round(r.opsPerSecond).toLocaleString('en')}/s (p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(1)} ms)`;
const rows = Object.keys(typeof columns.sqlite === 'string' ? {} : columns.sqlite);
const width = Math.max(...rows.map((r) => r.length));
const header = `${'operation'.padEnd(width)}  ${'SQLite (WAL, synchronous=FULL)'.padEnd(44)}  MariaDB`;
process.stdout.write(
  `data layer, ${IN_FLIGHT} calls in flight, ${SECONDS} s per operation, ${SEED_ACCOUNTS} seeded accounts, ${cpus().length} CPUs\n\n`,
);
process.stdout.write(`${header}\n${'-'.repeat(header.length + 30)}\n`);
for (const row of rows) {
  const maria = typeof columns.mariadb === 'string' ? columns.mariadb : cell(columns.mariadb[row]);
  process.stdout.write(`${row.padEnd(width)}  ${cell(columns.sqlite[row]).padEnd(44)}  ${maria}\n`);
}
process.stdout.write(`\n(${((performance.now() - started) / 1000).toFixed(1)} s in all)\n`);
