/**
 * MySQL/MariaDB through a mysql2 pool, guarded so that:
 * - every pooled connection is set up before first use (UTC, strict SQL mode, lock-wait and statement
 *   time limits) and, for the read handle, made `READ ONLY` so the server refuses writes on it;
 * - every query has a time limit: the server stops a statement at the limit (MariaDB
 *   max_statement_time); a server that does not answer at all is given up on a little later and its
 *   connection discarded;
 * - dead connections (server restart, KILL, network cut) are discarded, never reused, so the next query
 *   gets a fresh one: connection loss recovers without restarting the process.
 */
import mysql from 'mysql2';
import { MysqlDialect, type MysqlPool, type MysqlPoolConnection, type MysqlQueryResult } from 'kysely';
import type { MysqlTarget } from './config.ts';
import { ConnectionError, unavailability } from './errors.ts';
import type { Role } from './sqlite.ts';

// Beyond the server-side limit, how long to wait for an answer before declaring the connection dead.
const CLIENT_GRACE_MS = 250;
const SQL_MODE = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

type Flavor = 'mariadb' | 'mysql';
type Callback = (error: unknown, result: MysqlQueryResult) => void;

const ignore = (): void => undefined;
const usable = (raw: mysql.PoolConnection): boolean => raw.state !== 'error' && raw.state !== 'disconnected';

function rawQuery(raw: mysql.PoolConnection, sql: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    raw.query({ sql, timeout: timeoutMs }, (err, rows) => {
      if (err) reject(err);
      else resolve(rows);
    });
  });
}

/** One pooled connection as Kysely sees it: time-limited queries, discarded once broken. */
class GuardedConnection implements MysqlPoolConnection {
  readonly #raw: mysql.PoolConnection;
  readonly #limitMs: number;
  #broken = false;

  constructor(raw: mysql.PoolConnection, limitMs: number) {
    this.#raw = raw;
    this.#limitMs = limitMs;
  }

  query(sql: string, parameters: unknown[]): never;
  query(sql: string, parameters: unknown[], callback: Callback): void;
  query(sql: string, parameters: unknown[], callback?: Callback): void {
    if (callback === undefined) throw new Error('streaming queries are not used by the data layer');
    if (this.#broken || !usable(this.#raw)) {
      this.#broken = true;
      const err = new ConnectionError('the database connection was lost', 'connection');
      process.nextTick(() => {
        callback(err, []);
      });
      return;
    }
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      this.#broken = true;
      this.#raw.destroy(); // the statement may still run; this connection can never be trusted again
      callback(new ConnectionError(`no answer from the database within ${this.#limitMs} ms`, 'timeout'), []);
    }, this.#limitMs + CLIENT_GRACE_MS);
    this.#raw.query({ sql, values: parameters }, (err, result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        const reason = unavailability(err);
        if ((err as { fatal?: boolean }).fatal === true || reason === 'connection') this.#broken = true;
        callback(err, []);
      } else callback(null, result as MysqlQueryResult);
    });
  }

  release(): void {
    if (this.#broken || !usable(this.#raw)) this.#raw.destroy();
    else this.#raw.release();
  }
}

class GuardedPool implements MysqlPool {
  readonly #pool: mysql.Pool;
  readonly #role: Role;
  readonly #target: MysqlTarget;
  readonly #limitMs: number;
  readonly #wrapped = new WeakMap<mysql.PoolConnection, GuardedConnection>();
  #flavor: Flavor | undefined;

  constructor(target: MysqlTarget, role: Role, limitMs: number) {
    this.#target = target;
    this.#role = role;
    this.#limitMs = limitMs;
    this.#pool = mysql.createPool({
      host: target.host,
      port: target.port,
      user: target.user,
      password: target.password,
      database: target.database,
      connectionLimit: target.connectionLimit,
      maxIdle: target.connectionLimit,
      idleTimeout: 60_000,
      waitForConnections: true,
      connectTimeout: limitMs,
      enableKeepAlive: true,
      charset: 'utf8mb4',
      timezone: 'Z',
      multipleStatements: false,
    });
  }

  getConnection(callback: (error: unknown, connection: MysqlPoolConnection) => void): void {
    this.#acquire().then(
      (connection) => {
        callback(null, connection);
      },
      (err: unknown) => {
        callback(err, undefined as unknown as MysqlPoolConnection);
      },
    );
  }

  end(callback: (error: unknown) => void): void {
    this.#pool.end(callback);
  }

  async #acquire(): Promise<GuardedConnection> {
    const deadline = Date.now() + this.#limitMs;
    // A connection killed while idle may still sit in the pool; skip the ones known dead.
    for (let attempt = 0; attempt < 3; attempt++) {
      const raw = await this.#take(deadline);
      if (!usable(raw)) {
        raw.destroy();
        continue;
      }
      let connection = this.#wrapped.get(raw);
      if (connection === undefined) {
        raw.on('error', ignore); // errors arrive through query callbacks; an unheard 'error' would crash
        try {
          await this.#prepareSession(raw);
        } catch (err) {
          raw.destroy();
          throw new ConnectionError(
            'could not set up a database session',
            unavailability(err) ?? 'server',
            err,
          );
        }
        connection = new GuardedConnection(raw, this.#limitMs);
        this.#wrapped.set(raw, connection);
      }
      return connection;
    }
    throw new ConnectionError('no live database connection', 'connection');
  }

  #take(deadline: number): Promise<mysql.PoolConnection> {
    return new Promise((resolve, reject) => {
      let waiting = true;
      const timer = setTimeout(
        () => {
          waiting = false;
          reject(new ConnectionError(`no database connection within ${this.#limitMs} ms`, 'timeout'));
        },
        Math.max(0, deadline - Date.now()),
      );
      this.#pool.getConnection((err, raw) => {
        if (!waiting) {
          // Arrived after we gave up: hand it back for the next caller.
          if (!err) raw.release();
          return;
        }
        waiting = false;
        clearTimeout(timer);
        if (err)
          reject(
            new ConnectionError('could not connect to the database', unavailability(err) ?? 'server', err),
          );
        else resolve(raw);
      });
    });
  }

  async #prepareSession(raw: mysql.PoolConnection): Promise<void> {
    if (this.#flavor === undefined) {
      const rows = (await rawQuery(raw, 'SELECT VERSION() AS v', this.#limitMs)) as { v: string }[];
      this.#flavor = /mariadb/i.test(rows[0]?.v ?? '') ? 'mariadb' : 'mysql';
    }
    const seconds = this.#limitMs / 1000;
    const settings = [
      `time_zone = '+00:00'`,
      `sql_mode = '${SQL_MODE}'`,
      // Lock waits end on the server (error 1205) rather than by our client timer, keeping the connection.
      `innodb_lock_wait_timeout = ${Math.max(1, Math.ceil(seconds))}`,
      this.#flavor === 'mariadb'
        ? `max_statement_time = ${seconds.toFixed(3)}`
        : `max_execution_time = ${Math.ceil(this.#limitMs)}`,
    ];
    if (this.#target.wsrepSyncWait !== undefined)
      settings.push(`wsrep_sync_wait = ${this.#target.wsrepSyncWait}`);
    await rawQuery(raw, `SET SESSION ${settings.join(', ')}`, this.#limitMs);
    // The read handle's sessions refuse every write (error 1792), whatever SQL reaches them.
    if (this.#role === 'read') await rawQuery(raw, 'SET SESSION TRANSACTION READ ONLY', this.#limitMs);
  }
}

export function mysqlDialect(target: MysqlTarget, role: Role, queryTimeoutMs: number): MysqlDialect {
  return new MysqlDialect({ pool: () => Promise.resolve(new GuardedPool(target, role, queryTimeoutMs)) });
}
