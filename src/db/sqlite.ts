/**
 * SQLite through better-sqlite3: one file in WAL mode. The writer opens it read-write; the reader opens it
 * with SQLITE_OPEN_READONLY, so the connection itself refuses writes whatever SQL reaches it.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Sqlite from 'better-sqlite3';
import {
  CompiledQuery,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type SqliteDatabase,
} from 'kysely';
import type { SqliteTarget } from './config.ts';
import { ConnectionError } from './errors.ts';

export type Role = 'read' | 'write';

// Our statements are a fixed set, so preparing each once saves a compile per query.
const STATEMENT_CACHE_SIZE = 256;

function withStatementCache(db: Sqlite.Database): SqliteDatabase {
  const cache = new Map<string, Sqlite.Statement>();
  return {
    prepare(source: string) {
      let statement = cache.get(source);
      if (statement === undefined) {
        statement = db.prepare(source);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.clear();
        cache.set(source, statement);
      }
      return statement;
    },
    close: () => db.close(),
  };
}

export function openSqlite(target: SqliteTarget, role: Role, queryTimeoutMs: number): SqliteDatabase {
  let db: Sqlite.Database;
  try {
    if (role === 'write') {
      mkdirSync(dirname(target.path), { recursive: true });
      // `timeout` is SQLite's busy timeout: how long a statement waits for another writer's lock. It is
      // SQLite's form of the per-query time limit (a running statement cannot be interrupted).
      db = new Sqlite(target.path, { timeout: queryTimeoutMs });
      db.pragma('journal_mode = WAL');
      // FULL: an acknowledged write survives a power cut (SPEC §5 counts lost writes; target 0).
      db.pragma('synchronous = FULL');
    } else {
      db = new Sqlite(target.path, { readonly: true, fileMustExist: true, timeout: queryTimeoutMs });
    }
    db.pragma('foreign_keys = ON');
  } catch (err) {
    // "unable to open", a missing directory or file: the database is not there yet (run persona migrate).
    throw new ConnectionError(`cannot open the SQLite database ${target.path}`, 'server', err);
  }
  return withStatementCache(db);
}

/** The writer's driver begins transactions IMMEDIATE: it takes the write lock up front, so two writers
 * never both read and then both try to upgrade (which SQLite answers with SQLITE_BUSY, not a wait). */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class PersonaSqliteDialect extends SqliteDialect {
  readonly #config: ConstructorParameters<typeof SqliteDriver>[0];
  readonly #role: Role;
  constructor(config: ConstructorParameters<typeof SqliteDriver>[0], role: Role) {
    super(config);
    this.#config = config;
    this.#role = role;
  }
  override createDriver(): Driver {
    return this.#role === 'write' ? new ImmediateSqliteDriver(this.#config) : new SqliteDriver(this.#config);
  }
}

/** Opens lazily (at the first query), so a webhead can start before the dbwriter has created the file. */
export function sqliteDialect(target: SqliteTarget, role: Role, queryTimeoutMs: number): SqliteDialect {
  return new PersonaSqliteDialect(
    { database: () => Promise.resolve(openSqlite(target, role, queryTimeoutMs)) },
    role,
  );
}
