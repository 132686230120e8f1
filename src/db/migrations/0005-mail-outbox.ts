/**
 * Ours (SPEC §4.13): verification mail waiting to be handed to SMTP, written in the staging's transaction
 * so an acknowledged staging never loses its mail. One row per token (the staged secret the link carries).
 * Times are epoch milliseconds.
 */
import { sql, type Kysely, type Migration } from 'kysely';

export function mailOutboxTable(kind: 'sqlite' | 'mysql'): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (kind === 'mysql')
        await sql`CREATE TABLE mail_outbox (
          token CHAR(48) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
          mail TEXT NOT NULL,
          created_at BIGINT NOT NULL,
          attempts INT NOT NULL DEFAULT 0,
          next_attempt_at BIGINT NOT NULL
        ) ENGINE=InnoDB`.execute(db);
      else
        await sql`CREATE TABLE mail_outbox (
          token TEXT NOT NULL PRIMARY KEY CHECK (length(token) = 48),
          mail TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          attempts INTEGER NOT NULL DEFAULT 0,
          next_attempt_at INTEGER NOT NULL
        )`.execute(db);
      await sql`CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at)`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`DROP TABLE mail_outbox`.execute(db);
    },
  };
}
