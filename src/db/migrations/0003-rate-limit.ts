/** Ours (SPEC §4.4): rate-limit counters shared by every instance. Times are epoch milliseconds. */
import { sql, type Kysely, type Migration } from 'kysely';

export function rateLimitTable(kind: 'sqlite' | 'mysql'): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (kind === 'mysql')
        // Buckets are ASCII keys compared byte for byte (an address bucket is not case-folded twice).
        await sql`CREATE TABLE rate_limit (
          bucket VARCHAR(320) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
          window_start BIGINT NOT NULL,
          hits INT NOT NULL
        ) ENGINE=InnoDB`.execute(db);
      else
        await sql`CREATE TABLE rate_limit (
          bucket TEXT NOT NULL PRIMARY KEY CHECK (length(bucket) <= 320),
          window_start INTEGER NOT NULL,
          hits INTEGER NOT NULL
        )`.execute(db);
      await sql`CREATE INDEX rate_limit_window ON rate_limit (window_start)`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`DROP TABLE rate_limit`.execute(db);
    },
  };
}
