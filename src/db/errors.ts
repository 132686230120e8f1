/**
 * What the data layer throws. Two kinds, kept apart because tiers answer them differently:
 * - `DatabaseUnavailableError`: the database did not answer in time or could not be reached. Tiers map
 *   it to 503 `database unavailable` (reference/persona.md §5.5). Its `cause` holds the driver error for
 *   the log; driver errors carry no credentials.
 * - `StorageError`: the database answered, and the answer is a domain outcome (unknown token, address
 *   owned by someone else…), with a code from a closed set.
 */

export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError';
  readonly code = 'database-unavailable';
  /** Coarse class of the failure, for metrics and logs. */
  readonly reason: 'timeout' | 'connection' | 'busy' | 'server';
  constructor(reason: DatabaseUnavailableError['reason'], cause?: unknown) {
    super('database unavailable', cause === undefined ? undefined : { cause });
    this.reason = reason;
  }
}

export const storageErrors = {
  // Unknown, replaced, consumed or expired (SPEC §4.2: an expired token is an unknown one).
  'unknown-secret': 'no such secret',
  'wrong-secret-kind': 'this verification link is for another operation',
  'data-inconsistency': 'cannot update password, data inconsistency',
  'no-such-user': 'no such user',
  'not-owner': "authenticated user doesn't own that email",
  'address-in-use': 'that email address belongs to an account',
  'invalid-input': 'invalid input',
} as const;

export type StorageErrorCode = keyof typeof storageErrors;

export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, message: string = storageErrors[code]) {
    super(message);
    this.code = code;
  }
}

export function refuse(code: StorageErrorCode, message?: string): never {
  throw new StorageError(code, message);
}

/** The parts of a driver error we look at (mysql2 sets errno/code/fatal, better-sqlite3 sets code). */
interface DriverError {
  readonly code?: unknown;
  readonly errno?: unknown;
  readonly fatal?: unknown;
}

const asDriverError = (err: unknown): DriverError => (typeof err === 'object' && err !== null ? err : {});

// MySQL/MariaDB server errors that mean "not now" rather than "your query is wrong".
const MYSQL_UNAVAILABLE: Record<number, DatabaseUnavailableError['reason']> = {
  1040: 'server', // too many connections
  1045: 'server', // access denied (bad credentials are an outage for the tier, logged with the cause)
  1047: 'connection', // Galera: node not ready (not in the primary component): another node may be
  1049: 'server', // unknown database
  1053: 'connection', // server shutdown in progress
  1205: 'timeout', // lock wait timeout
  1290: 'server', // --read-only (Aurora during failover)
  1317: 'timeout', // query interrupted
  1836: 'server', // read-only mode
  1927: 'connection', // connection killed (MariaDB)
  1969: 'timeout', // max_statement_time exceeded (MariaDB)
  3024: 'timeout', // max_execution_time exceeded (MySQL)
  4031: 'connection', // disconnected by the server for inactivity (MySQL 8)
};

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
]);

/** Raised by our own connection wrappers (mysql.ts, sqlite.ts): a timeout, a lost or unopenable connection. */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
  readonly reason: DatabaseUnavailableError['reason'];
  constructor(message: string, reason: DatabaseUnavailableError['reason'], cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.reason = reason;
  }
}

/** Returns why the error means the database is unavailable, or undefined when it does not. */
export function unavailability(err: unknown): DatabaseUnavailableError['reason'] | undefined {
  if (err instanceof DatabaseUnavailableError || err instanceof ConnectionError) return err.reason;
  const { code, errno, fatal } = asDriverError(err);
  if (typeof errno === 'number' && errno in MYSQL_UNAVAILABLE) return MYSQL_UNAVAILABLE[errno];
  if (code === 'PROTOCOL_SEQUENCE_TIMEOUT') return 'timeout';
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return 'connection';
    if (/^SQLITE_(BUSY|LOCKED)/.test(code)) return 'busy';
    if (/^SQLITE_(CANTOPEN|IOERR|FULL|PROTOCOL|NOTADB|CORRUPT|READONLY)/.test(code)) return 'server';
  }
  if (fatal === true) return 'connection';
  return undefined;
}

/** The server picked this transaction as a deadlock victim (or Galera failed its certification). */
export const isDeadlock = (err: unknown): boolean => asDriverError(err).errno === 1213;

/** A unique key refused the row. */
export function isDuplicate(err: unknown): boolean {
  const { code, errno } = asDriverError(err);
  return errno === 1062 || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** A foreign key refused the row (the user it names does not exist). */
export function isForeignKeyViolation(err: unknown): boolean {
  const { code, errno } = asDriverError(err);
  return errno === 1452 || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

export function toUnavailable(err: unknown): DatabaseUnavailableError | undefined {
  if (err instanceof DatabaseUnavailableError) return err;
  const reason = unavailability(err);
  return reason === undefined ? undefined : new DatabaseUnavailableError(reason, err);
}
