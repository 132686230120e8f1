/**
 * One Kysely instance over one engine, for one role. The few places where SQLite and MySQL differ in
 * SQL (TIMESTAMP columns, upserts) go through `Engine`, so query modules stay one code path.
 */
import { Kysely, sql, type RawBuilder } from 'kysely';
import type { DatabaseTarget } from './config.ts';
import { mysqlDialect } from './mysql.ts';
import type { Database, DbTimestamp } from './schema.ts';
import { sqliteDialect, type Role } from './sqlite.ts';

export type { Role } from './sqlite.ts';

export interface Engine {
  readonly kind: 'sqlite' | 'mysql';
  /** The value of a TIMESTAMP column for a time in epoch seconds. */
  timestamp(seconds: number): RawBuilder<DbTimestamp>;
  /** A TIMESTAMP column (`table.column`) read as epoch seconds. */
  unixSeconds(column: string): RawBuilder<number>;
}

// MySQL: TIMESTAMP, converted in the session time zone, which we pin to UTC (mysql.ts).
const mysqlEngine: Engine = {
  kind: 'mysql',
  timestamp: (seconds) => sql<DbTimestamp>`FROM_UNIXTIME(${seconds})`,
  unixSeconds: (column) => sql<number>`UNIX_TIMESTAMP(${sql.ref(column)})`,
};

// SQLite: the same instants as integer seconds.
const sqliteEngine: Engine = {
  kind: 'sqlite',
  timestamp: (seconds) => sql<DbTimestamp>`${seconds}`,
  unixSeconds: (column) => sql<number>`${sql.ref(column)}`,
};

export interface Connection {
  readonly db: Kysely<Database>;
  readonly engine: Engine;
  readonly role: Role;
  readonly queryTimeoutMs: number;
  /** How long operations keep trying while the database fails over (src/db/transaction.ts). */
  readonly failoverWindowMs: number;
  close(): Promise<void>;
}

// SQLite writers in one process share one connection (per file and time limit): a second connection's
// BEGIN IMMEDIATE would block the single event loop while the first holds the lock, so neither could
// finish. Other processes (more dbwriters) simply wait their turn for the lock.
const sqliteWriters = new Map<string, { connection: Connection; users: number }>();

/** Lazy: nothing is opened until the first query, so a tier starts even while the database is down. */
export function connect(target: DatabaseTarget, role: Role, queryTimeoutMs: number): Connection {
  if (target.engine === 'sqlite' && role === 'write') {
    const key = `${queryTimeoutMs}:${target.path}`;
    let shared = sqliteWriters.get(key);
    if (shared === undefined) {
      shared = { connection: open(target, role, queryTimeoutMs), users: 0 };
      sqliteWriters.set(key, shared);
    }
    const entry = shared;
    entry.users++;
    let closed = false;
    return {
      ...entry.connection,
      close: async () => {
        if (closed) return;
        closed = true;
        if (--entry.users === 0) {
          sqliteWriters.delete(key);
          await entry.connection.close();
        }
      },
    };
  }
  return open(target, role, queryTimeoutMs);
}

function open(target: DatabaseTarget, role: Role, queryTimeoutMs: number): Connection {
  const db = new Kysely<Database>({
    dialect:
      target.engine === 'sqlite'
        ? sqliteDialect(target, role, queryTimeoutMs)
        : mysqlDialect(target, role, queryTimeoutMs),
  });
  return {
    db,
    engine: target.engine === 'sqlite' ? sqliteEngine : mysqlEngine,
    role,
    queryTimeoutMs,
    failoverWindowMs: target.engine === 'mysql' ? target.failoverWindowMs : 0,
    close: () => db.destroy(),
  };
}
