/**
 * Runs the migrations (`persona migrate`, or at start where configured). On Galera run it from one
 * process only (the dbwriter): Kysely's migration lock is a GET_LOCK, local to one node.
 */
import { Migrator } from 'kysely';
import type { DatabaseTarget } from './config.ts';
import { connect } from './connection.ts';
import { toUnavailable } from './errors.ts';
import { migrations } from './migrations/index.ts';

export const MIGRATION_TABLE = 'persona_migration';
const MIGRATION_LOCK_TABLE = 'persona_migration_lock';
// DDL on a large original table can take minutes; the 5 s query limit of the tiers does not apply.
export const MIGRATION_TIMEOUT_MS = 10 * 60_000;

export interface MigrationStatus {
  readonly applied: readonly string[];
  readonly pending: readonly string[];
}

async function withMigrator<T>(
  target: DatabaseTarget,
  timeoutMs: number,
  work: (m: Migrator) => Promise<T>,
): Promise<T> {
  const connection = connect(target, 'write', timeoutMs);
  const migrator = new Migrator({
    db: connection.db,
    provider: { getMigrations: () => Promise.resolve(migrations(connection.engine.kind)) },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
  try {
    return await work(migrator);
  } catch (err) {
    throw toUnavailable(err) ?? err;
  } finally {
    await connection.close();
  }
}

/** Applies every pending migration; returns the names it applied (none when up to date). */
export async function migrateToLatest(
  target: DatabaseTarget,
  timeoutMs = MIGRATION_TIMEOUT_MS,
): Promise<readonly string[]> {
  return withMigrator(target, timeoutMs, async (migrator) => {
    const { error, results = [] } = await migrator.migrateToLatest();
    if (error !== undefined) {
      const failed = results.find((r) => r.status === 'Error')?.migrationName;
      const wrapped = toUnavailable(error);
      if (wrapped) throw wrapped;
      throw new Error(`migration ${failed ?? '(before any migration)'} failed`, { cause: error });
    }
    return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
  });
}

export async function migrationStatus(
  target: DatabaseTarget,
  timeoutMs = MIGRATION_TIMEOUT_MS,
): Promise<MigrationStatus> {
  return withMigrator(target, timeoutMs, async (migrator) => {
    const all = await migrator.getMigrations();
    return {
      applied: all.filter((m) => m.executedAt !== undefined).map((m) => m.name),
      pending: all.filter((m) => m.executedAt === undefined).map((m) => m.name),
    };
  });
}
