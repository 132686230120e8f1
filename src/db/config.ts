/**
 * Where the database is: `PERSONA_DATABASE_URL` (`sqlite:<path>` or `mysql://user:pass@host:port/db`),
 * defaulting to a SQLite file in `PERSONA_DATA_DIR`. Parsed at start so a bad value stops the process with
 * a message naming the setting. The password never appears in a message, a log line or JSON (SPEC §4.8).
 */
import { join, resolve } from 'node:path';
import type { Config } from '../config/settings.ts';

export const SQLITE_FILE = 'persona.sqlite';
export const DEFAULT_QUERY_TIMEOUT_MS = 5_000;
export const DEFAULT_TOKEN_TTL_MS = 24 * 3_600_000;
const DEFAULT_POOL = 10;

export class DatabaseConfigError extends Error {
  override readonly name = 'DatabaseConfigError';
}

export interface SqliteTarget {
  readonly engine: 'sqlite';
  /** Absolute path of the database file. */
  readonly path: string;
}

export interface MysqlTarget {
  readonly engine: 'mysql';
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Not enumerable: JSON.stringify and util.inspect leave it out. */
  readonly password: string;
  readonly database: string;
  /** Pool size per handle (`?connectionLimit=`). */
  readonly connectionLimit: number;
  /** Galera causality checks for reads (`?wsrep_sync_wait=`), SPEC §5 read-your-writes. */
  readonly wsrepSyncWait: number | undefined;
  /**
   * How long an operation keeps trying while the database moves to another node (`?failover_window_ms=`,
   * docs/database-ha.md); 0: one immediate repeat on a fresh connection, then unavailable.
   */
  readonly failoverWindowMs: number;
}

export type DatabaseTarget = SqliteTarget | MysqlTarget;

export interface DatabaseSettings {
  /** The dbwriter's database. */
  readonly write: DatabaseTarget;
  /** The webhead's: the same database unless a replica or read-only account is named. */
  readonly read: DatabaseTarget;
  readonly queryTimeoutMs: number;
  /** SPEC §4.2: emailed tokens expire. */
  readonly tokenTtlMs: number;
}

/** A target as text for logs and messages, password masked. */
export function describeTarget(target: DatabaseTarget): string {
  if (target.engine === 'sqlite') return `sqlite:${target.path}`;
  const auth = `${encodeURIComponent(target.user)}${target.password === '' ? '' : ':***'}`;
  return `mysql://${auth}@${target.host}:${target.port}/${target.database}`;
}

// Anything that might be a password in a URL we failed to parse: keep only what precedes `//user:`.
const redactRaw = (url: string): string => url.replace(/\/\/[^@/]*@/, '//***@');

function positiveInt(setting: string, name: string, raw: string, max: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max)
    throw new DatabaseConfigError(`${setting}: ${name} must be a whole number from 1 to ${max}`);
  return Number(raw);
}

/**
 * Parses one database URL. `setting` names the variable in messages. Relative SQLite paths are resolved
 * against the working directory.
 */
export function parseDatabaseUrl(url: string, setting = 'PERSONA_DATABASE_URL'): DatabaseTarget {
  const expected = 'expected sqlite:<path> or mysql://user:pass@host:port/db';
  if (url.startsWith('sqlite:')) {
    let path = url.slice('sqlite:'.length);
    if (path.startsWith('//')) {
      // URL form: sqlite:///absolute/path (a host part has no meaning for a file).
      if (!path.startsWith('///'))
        throw new DatabaseConfigError(`${setting}: use sqlite:///absolute/path or sqlite:relative/path`);
      path = path.slice(2);
    }
    if (path === '') throw new DatabaseConfigError(`${setting}: sqlite: needs a file path; ${expected}`);
    if (path === ':memory:' || path.startsWith('file:'))
      throw new DatabaseConfigError(
        `${setting}: the read and write handles are separate connections, so SQLite needs a file path`,
      );
    return Object.freeze({ engine: 'sqlite', path: resolve(path) });
  }
  if (!/^(mysql|mariadb):\/\//.test(url)) {
    const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0];
    throw new DatabaseConfigError(
      scheme
        ? `${setting}: unsupported scheme '${scheme}'; ${expected}`
        : `${setting}: not a database URL; ${expected}`,
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DatabaseConfigError(
      `${setting}: not a valid URL (${redactRaw(url).slice(0, 12)}…); ${expected}`,
    );
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (parsed.hostname === '')
    throw new DatabaseConfigError(`${setting}: the MySQL URL has no host; ${expected}`);
  // Only plain names: the name reaches SQL in our tooling (CREATE/DROP DATABASE in tests and ops).
  if (!/^[A-Za-z0-9_$]{1,64}$/.test(database))
    throw new DatabaseConfigError(
      `${setting}: the MySQL URL needs a database name of letters, digits, _ or $ (mysql://user:pass@host:port/db)`,
    );
  if (parsed.username === '')
    throw new DatabaseConfigError(`${setting}: the MySQL URL has no user; ${expected}`);
  let connectionLimit = DEFAULT_POOL;
  let wsrepSyncWait: number | undefined;
  let failoverWindowMs = 0;
  for (const [key, value] of parsed.searchParams) {
    if (key === 'connectionLimit') connectionLimit = positiveInt(setting, key, value, 1000);
    else if (key === 'wsrep_sync_wait') {
      if (!/^\d+$/.test(value) || Number(value) > 15)
        throw new DatabaseConfigError(`${setting}: wsrep_sync_wait must be a whole number from 0 to 15`);
      wsrepSyncWait = Number(value);
    } else if (key === 'failover_window_ms') {
      if (!/^\d+$/.test(value) || Number(value) > 60_000)
        throw new DatabaseConfigError(
          `${setting}: failover_window_ms must be a whole number from 0 to 60000`,
        );
      failoverWindowMs = Number(value);
    } else
      throw new DatabaseConfigError(
        `${setting}: unknown option '${key}' (known: connectionLimit, wsrep_sync_wait, failover_window_ms)`,
      );
  }
  const target = {
    engine: 'mysql' as const,
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? 3306 : Number(parsed.port),
    user: decodeURIComponent(parsed.username),
    database,
    connectionLimit,
    wsrepSyncWait,
    failoverWindowMs,
  };
  Object.defineProperty(target, 'password', {
    value: decodeURIComponent(parsed.password),
    enumerable: false,
  });
  Object.defineProperty(target, 'toJSON', {
    value: () => describeTarget(target as MysqlTarget),
    enumerable: false,
  });
  return Object.freeze(target) as MysqlTarget;
}

export interface DatabaseOptions {
  /** `PERSONA_DATABASE_URL`; empty means SQLite in `dataDir`. */
  readonly url?: string;
  /** A separate URL for the read handle (a replica, or an account with SELECT grants only). */
  readonly readUrl?: string;
  readonly dataDir?: string;
  readonly queryTimeoutMs?: number;
  readonly tokenTtlMs?: number;
}

/** Resolves the settings, throwing DatabaseConfigError (naming the setting) on a bad value. */
export function databaseSettings(options: DatabaseOptions = {}): DatabaseSettings {
  const dataDir = options.dataDir ?? './var';
  const url = options.url ?? '';
  const write =
    url === ''
      ? Object.freeze({ engine: 'sqlite' as const, path: resolve(join(dataDir, SQLITE_FILE)) })
      : parseDatabaseUrl(url);
  const read =
    options.readUrl === undefined || options.readUrl === ''
      ? write
      : parseDatabaseUrl(options.readUrl, 'the read database URL');
  if (read.engine !== write.engine)
    throw new DatabaseConfigError('the read database URL must name the same engine as PERSONA_DATABASE_URL');
  if (read.engine === 'sqlite' && write.engine === 'sqlite' && read.path !== write.path)
    throw new DatabaseConfigError('with SQLite, reads and writes use one file');
  const queryTimeoutMs = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  if (!Number.isInteger(queryTimeoutMs) || queryTimeoutMs < 1)
    throw new DatabaseConfigError('the database query time limit must be a positive number of milliseconds');
  const tokenTtlMs = options.tokenTtlMs ?? DEFAULT_TOKEN_TTL_MS;
  if (!Number.isInteger(tokenTtlMs) || tokenTtlMs < 1)
    throw new DatabaseConfigError('PERSONA_TOKEN_TTL_MS: must be a positive number of milliseconds');
  return Object.freeze({ write, read, queryTimeoutMs, tokenTtlMs });
}

/** The settings from the service configuration (src/config). */
export function databaseSettingsFrom(
  config: Pick<Config, 'databaseUrl' | 'dataDir' | 'tokenTtlMs'>,
  extra: Pick<DatabaseOptions, 'readUrl' | 'queryTimeoutMs'> = {},
): DatabaseSettings {
  return databaseSettings({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    tokenTtlMs: config.tokenTtlMs,
    ...extra,
  });
}
