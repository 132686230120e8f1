/**
 * The original Persona tables (reference/persona.md §3.2), with their names, column names and, on MySQL,
 * their exact types. `IF NOT EXISTS` as the original itself did, so on an existing Persona database this
 * changes nothing and keeps every row. Columns that older originals lacked are added with the defaults
 * the original gave them. No down migration: these tables are never ours to drop.
 */
import { sql, type Kysely, type Migration } from 'kysely';

type Kind = 'sqlite' | 'mysql';

// MySQL: the original DDL. We name the character set (the original took the server's default) so that
// addresses compare case-insensitively whatever the server is configured with.
const MYSQL = [
  `CREATE TABLE IF NOT EXISTS user (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    passwd CHAR(64),
    lastPasswordReset TIMESTAMP DEFAULT 0 NOT NULL,
    failedAuthTries INT DEFAULT 0 NOT NULL
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
  `CREATE TABLE IF NOT EXISTS email (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    user BIGINT NOT NULL,
    address VARCHAR(255) UNIQUE NOT NULL,
    type ENUM('secondary', 'primary') DEFAULT 'secondary' NOT NULL,
    verified BOOLEAN DEFAULT TRUE NOT NULL,
    FOREIGN KEY user_fkey (user) REFERENCES user(id)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
  `CREATE TABLE IF NOT EXISTS staged (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    secret CHAR(48) UNIQUE NOT NULL,
    new_acct BOOL NOT NULL,
    existing_user BIGINT,
    email VARCHAR(255) UNIQUE NOT NULL,
    passwd CHAR(64),
    ts TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL,
    FOREIGN KEY existing_user_fkey (existing_user) REFERENCES user(id)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
  `CREATE TABLE IF NOT EXISTS idp (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    domain VARCHAR(255) UNIQUE NOT NULL,
    lastSeen TIMESTAMP DEFAULT 0 NOT NULL
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
];

// SQLite: the same tables. TIMESTAMPs are epoch seconds; NOCASE gives MySQL's case-insensitive
// addresses and domains (uniqueness included); CHECKs refuse what MySQL's strict mode refuses.
const SQLITE = [
  `CREATE TABLE IF NOT EXISTS user (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    passwd CHAR(64) CHECK (passwd IS NULL OR length(passwd) <= 64),
    lastPasswordReset INTEGER NOT NULL DEFAULT 0,
    failedAuthTries INTEGER NOT NULL DEFAULT 0
  )`,
  `CREATE TABLE IF NOT EXISTS email (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user INTEGER NOT NULL REFERENCES user(id),
    address VARCHAR(255) COLLATE NOCASE NOT NULL UNIQUE CHECK (length(address) <= 255),
    type TEXT NOT NULL DEFAULT 'secondary' CHECK (type IN ('secondary', 'primary')),
    verified BOOLEAN NOT NULL DEFAULT 1 CHECK (verified IN (0, 1))
  )`,
  // InnoDB indexes foreign keys by itself; SQLite needs them spelled out.
  `CREATE INDEX IF NOT EXISTS email_user ON email(user)`,
  `CREATE TABLE IF NOT EXISTS staged (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    secret CHAR(48) NOT NULL UNIQUE CHECK (length(secret) = 48),
    new_acct BOOLEAN NOT NULL CHECK (new_acct IN (0, 1)),
    existing_user INTEGER REFERENCES user(id),
    email VARCHAR(255) COLLATE NOCASE NOT NULL UNIQUE CHECK (length(email) <= 255),
    passwd CHAR(64) CHECK (passwd IS NULL OR length(passwd) <= 64),
    ts INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))
  )`,
  `CREATE INDEX IF NOT EXISTS staged_existing_user ON staged(existing_user)`,
  `CREATE TABLE IF NOT EXISTS idp (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    domain VARCHAR(255) COLLATE NOCASE NOT NULL UNIQUE CHECK (length(domain) <= 255),
    lastSeen INTEGER NOT NULL DEFAULT 0
  )`,
];

// Columns added by later versions of the original, in case the database predates them.
const LATER_COLUMNS: Record<Kind, readonly [table: string, column: string, definition: string][]> = {
  mysql: [
    ['user', 'lastPasswordReset', 'TIMESTAMP DEFAULT 0 NOT NULL'],
    ['user', 'failedAuthTries', 'INT DEFAULT 0 NOT NULL'],
    ['email', 'verified', 'BOOLEAN DEFAULT TRUE NOT NULL'],
  ],
  sqlite: [
    ['user', 'lastPasswordReset', 'INTEGER NOT NULL DEFAULT 0'],
    ['user', 'failedAuthTries', 'INTEGER NOT NULL DEFAULT 0'],
    ['email', 'verified', 'BOOLEAN NOT NULL DEFAULT 1 CHECK (verified IN (0, 1))'],
  ],
};

export function originalSchema(kind: Kind): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      for (const ddl of kind === 'mysql' ? MYSQL : SQLITE) await sql.raw(ddl).execute(db);
      const tables = await db.introspection.getTables();
      for (const [table, column, definition] of LATER_COLUMNS[kind]) {
        const columns = tables.find((t) => t.name === table)?.columns ?? [];
        if (!columns.some((c) => c.name.toLowerCase() === column.toLowerCase()))
          await sql.raw(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`).execute(db);
      }
    },
  };
}
