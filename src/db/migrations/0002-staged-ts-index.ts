/** Ours: an index on `staged.ts`, so expired tokens (SPEC §4.2) are purged without a table scan. */
import { sql, type Kysely, type Migration } from 'kysely';

export function stagedTsIndex(kind: 'sqlite' | 'mysql'): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`CREATE INDEX staged_ts ON staged (ts)`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await (kind === 'mysql' ? sql`DROP INDEX staged_ts ON staged` : sql`DROP INDEX staged_ts`).execute(db);
    },
  };
}
