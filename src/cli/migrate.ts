/** `persona migrate`: brings the configured database's schema up to date (docs/storage.md). */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.ts';
import {
  DatabaseConfigError,
  databaseSettingsFrom,
  describeTarget,
  migrateToLatest,
  migrationStatus,
  type DatabaseTarget,
} from '../db/write.ts';

const USAGE = `Usage: persona migrate [--status]

Applies every pending storage migration to the database named by PERSONA_DATABASE_URL
(default: SQLite in $PERSONA_DATA_DIR). On a database made by the original Persona it only adds.
  --status   list applied and pending migrations, change nothing
`;

export interface MigrateOutput {
  out(line: string): void;
  err(line: string): void;
}

const stdio: MigrateOutput = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** The error and its causes, for an operator. Driver messages carry no passwords. */
function explain(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 4; e = e.cause) parts.push(e.message);
  return parts.length > 0 ? parts.join(': ') : String(err);
}

/** The work, separate from argument parsing so tests can await it. Resolves to the exit code. */
export async function runMigrate(
  target: DatabaseTarget,
  statusOnly: boolean,
  io: MigrateOutput = stdio,
): Promise<number> {
  const where = describeTarget(target);
  try {
    if (statusOnly) {
      const { applied, pending } = await migrationStatus(target);
      for (const name of applied) io.out(`applied  ${name}`);
      for (const name of pending) io.out(`pending  ${name}`);
      io.out(`${where}: ${pending.length === 0 ? 'up to date' : `${pending.length} pending`}`);
      return 0;
    }
    const ran = await migrateToLatest(target);
    io.out(ran.length === 0 ? `${where}: up to date` : `${where}: applied ${ran.join(', ')}`);
    return 0;
  } catch (err) {
    io.err(`persona migrate: ${where}: ${explain(err)}`);
    return 1;
  }
}

/**
 * Entry point from src/cli/main.ts, which loads this module on demand: the exit code is 2 for bad
 * arguments or settings (before touching the database), 1 when migrating fails.
 */
export async function migrateCommand(args: string[]): Promise<number> {
  let statusOnly: boolean;
  try {
    const { values } = parseArgs({
      args,
      options: { status: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    statusOnly = values.status;
  } catch (err) {
    process.stderr.write(`persona migrate: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  let target: DatabaseTarget;
  try {
    target = databaseSettingsFrom(loadConfig()).write;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof DatabaseConfigError) {
      process.stderr.write(`persona migrate: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  return runMigrate(target, statusOnly);
}
