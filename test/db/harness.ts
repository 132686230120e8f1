/**
 * Runs one suite on every engine: SQLite (a file in a temporary directory) and MariaDB (a throwaway
 * database with a random name on 127.0.0.1:3306, dropped afterwards). Without MariaDB the MariaDB half
 * skips loudly, and fails under PERSONA_TEST_STRICT=1 (test/helpers/components.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe } from 'node:test';
import bcrypt from 'bcrypt';
import Sqlite from 'better-sqlite3';
import mysql from 'mysql2/promise';
import { missing } from '../helpers/components.ts';
import {
  databaseSettings,
  migrateToLatest,
  openReader,
  openWriter,
  type DatabaseSettings,
  type HandleOptions,
  type Reader,
  type Writer,
} from '../../src/db/write.ts';

// PERSONA_TEST_MARIADB_PORT points the suites at another local server (e.g. a Galera node on 3311).
export const MARIADB = {
  host: '127.0.0.1',
  port: Number(process.env.PERSONA_TEST_MARIADB_PORT ?? 3306),
  user: 'root',
  password: '',
};

export type EngineName = 'sqlite' | 'mariadb';

export interface Handles {
  readonly writer: Writer;
  readonly reader: Reader;
}

export interface HandleSettings extends HandleOptions {
  readonly queryTimeoutMs?: number;
  readonly tokenTtlMs?: number;
}

export interface TestDatabase {
  readonly engine: EngineName;
  readonly url: string;
  settings(options?: HandleSettings): DatabaseSettings;
  /** Raw SQL with full rights, outside the data layer (the original's DDL, KILL, inspection). */
  exec(statement: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** Runs our migrations. */
  migrate(): Promise<readonly string[]>;
  /** A migrated database's writer and reader, closed with the database. */
  open(options?: HandleSettings): Promise<Handles>;
  drop(): Promise<void>;
}

let mariadbPresent: Promise<boolean> | undefined;

export function mariadbAnswers(): Promise<boolean> {
  mariadbPresent ??= mysql
    .createConnection({ ...MARIADB, connectTimeout: 2000 })
    .then(async (c) => {
      await c.end();
      return true;
    })
    .catch(() => false);
  return mariadbPresent;
}

function common(
  engine: EngineName,
  url: string,
  exec: TestDatabase['exec'],
  cleanup: () => Promise<void>,
): TestDatabase {
  const opened: Handles[] = [];
  let migrated = false;
  const settings = (options: HandleSettings = {}): DatabaseSettings =>
    databaseSettings({ url, queryTimeoutMs: options.queryTimeoutMs, tokenTtlMs: options.tokenTtlMs });
  return {
    engine,
    url,
    settings,
    exec,
    async migrate() {
      migrated = true;
      return migrateToLatest(settings().write);
    },
    async open(options = {}) {
      if (!migrated) await this.migrate();
      const handles = {
        writer: openWriter(settings(options), options),
        reader: openReader(settings(options), options),
      };
      opened.push(handles);
      return handles;
    },
    async drop() {
      for (const { writer, reader } of opened) await Promise.all([writer.close(), reader.close()]);
      await cleanup();
    },
  };
}

function sqliteDatabase(): TestDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'persona-db-'));
  const path = join(dir, 'persona.sqlite');
  let raw: Sqlite.Database | undefined;
  return common(
    'sqlite',
    `sqlite:${path}`,
    (statement, params = []) => {
      raw ??= new Sqlite(path, { timeout: 5000 });
      const prepared = raw.prepare(statement);
      return Promise.resolve(
        prepared.reader
          ? (prepared.all(...params) as Record<string, unknown>[])
          : (prepared.run(...params), []),
      );
    },
    () => {
      raw?.close();
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  );
}

async function mariadbDatabase(): Promise<TestDatabase> {
  const name = `persona_test_${randomBytes(6).toString('hex')}`;
  const admin = await mysql.createConnection(MARIADB);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.query(`USE ${name}`);
  return common(
    'mariadb',
    `mysql://${MARIADB.user}@${MARIADB.host}:${MARIADB.port}/${name}`,
    async (statement, params = []) => {
      const [rows] = await admin.query(statement, params);
      return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
    },
    async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.end();
    },
  );
}

export interface Engine {
  readonly name: EngineName;
  readonly skip: string | undefined;
  create(): Promise<TestDatabase>;
}

export async function engines(): Promise<Engine[]> {
  const skip = await missing({
    name: `MariaDB on ${MARIADB.host}:${MARIADB.port} (root, no password)`,
    install: 'apt-get install mariadb-server (then start it; see .ci/run)',
    present: mariadbAnswers,
  });
  return [
    { name: 'sqlite', skip: undefined, create: () => Promise.resolve(sqliteDatabase()) },
    { name: 'mariadb', skip, create: mariadbDatabase },
  ];
}

/**
 * Declares `body`'s tests once per engine, each engine with its own fresh database. `db()` is valid
 * inside tests and hooks.
 */
export async function forEachEngine(
  title: string,
  body: (db: () => TestDatabase, engine: EngineName) => void,
): Promise<void> {
  for (const engine of await engines()) {
    describe(`${title} [${engine.name}]`, { skip: engine.skip }, () => {
      let current: TestDatabase | undefined;
      before(async () => {
        current = await engine.create();
      });
      after(async () => {
        await current?.drop();
      });
      body(() => {
        if (current === undefined) throw new Error('the test database is not ready');
        return current;
      }, engine.name);
    });
  }
}

// Cost 4 keeps the suite fast; the `$2a$` prefix is what the original's bcrypt 0.7 wrote.
export const hashOf = (password: string): string => bcrypt.hashSync(password, bcrypt.genSaltSync(4, 'a'));
export const HASH = hashOf('correct horse');
export const OTHER_HASH = hashOf('battery staple');

let counter = 0;
/** A fresh address per test, so tests sharing a database do not meet. */
export const address = (label = 'user'): string =>
  `${label}.${process.pid}.${++counter}.${randomBytes(3).toString('hex')}@example.com`;
