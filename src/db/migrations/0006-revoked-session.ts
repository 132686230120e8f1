/**
 * Ours (SPEC §4.12): sessions ended server-side (logout, password change, account cancel), by the id their
 * cookie carries. A row lives as long as a cookie with that id could; `expires_at` is epoch milliseconds.
 */
import { sql, type Kysely, type Migration } from 'kysely';

export function revokedSessionTable(kind: 'sqlite' | 'mysql'): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (kind === 'mysql')
        await sql`CREATE TABLE revoked_session (
          sid VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
          expires_at BIGINT NOT NULL
        ) ENGINE=InnoDB`.execute(db);
      else
        await sql`CREATE TABLE revoked_session (
          sid TEXT NOT NULL PRIMARY KEY CHECK (length(sid) <= 32),
          expires_at INTEGER NOT NULL
        )`.execute(db);
      await sql`CREATE INDEX revoked_session_expiry ON revoked_session (expires_at)`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`DROP TABLE revoked_session`.execute(db);
    },
  };
}
