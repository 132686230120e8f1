/**
 * The schema: the original's tables and columns (reference/persona.md §3.2) with our additions only, and
 * an existing Persona database — made here with the original's own DDL and `$2a$` bcrypt hashes — kept
 * row for row by our migrations and read correctly by our layer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcrypt';
import { migrationStatus, openReader, openWriter } from '../../src/db/write.ts';
import { forEachEngine, hashOf, type TestDatabase } from './harness.ts';

const OURS = [
  '0001-original-schema',
  '0002-staged-ts-index',
  '0003-rate-limit',
  '0005-mail-outbox',
  '0006-revoked-session',
];

// The original's DDL as lib/db/mysql.js ran it (CREATE … IF NOT EXISTS, server default character set).
const ORIGINAL_MYSQL = [
  `CREATE TABLE IF NOT EXISTS user (id BIGINT AUTO_INCREMENT PRIMARY KEY, passwd CHAR(64),
     lastPasswordReset TIMESTAMP DEFAULT 0 NOT NULL, failedAuthTries INT DEFAULT 0 NOT NULL) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS email (id BIGINT AUTO_INCREMENT PRIMARY KEY, user BIGINT NOT NULL,
     address VARCHAR(255) UNIQUE NOT NULL, type ENUM('secondary', 'primary') DEFAULT 'secondary' NOT NULL,
     verified BOOLEAN DEFAULT TRUE NOT NULL, FOREIGN KEY user_fkey (user) REFERENCES user(id)) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS staged (id BIGINT AUTO_INCREMENT PRIMARY KEY, secret CHAR(48) UNIQUE NOT NULL,
     new_acct BOOL NOT NULL, existing_user BIGINT, email VARCHAR(255) UNIQUE NOT NULL, passwd CHAR(64),
     ts TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL,
     FOREIGN KEY existing_user_fkey (existing_user) REFERENCES user(id)) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS idp (id BIGINT AUTO_INCREMENT PRIMARY KEY, domain VARCHAR(255) UNIQUE NOT NULL,
     lastSeen TIMESTAMP DEFAULT 0 NOT NULL) ENGINE=InnoDB`,
];

// SQLite never ran the original; this is the same schema as a SQLite file of it would hold.
const ORIGINAL_SQLITE = [
  `CREATE TABLE user (id INTEGER PRIMARY KEY AUTOINCREMENT, passwd CHAR(64),
     lastPasswordReset INTEGER NOT NULL DEFAULT 0, failedAuthTries INTEGER NOT NULL DEFAULT 0)`,
  `CREATE TABLE email (id INTEGER PRIMARY KEY AUTOINCREMENT, user INTEGER NOT NULL REFERENCES user(id),
     address VARCHAR(255) COLLATE NOCASE NOT NULL UNIQUE, type TEXT NOT NULL DEFAULT 'secondary',
     verified BOOLEAN NOT NULL DEFAULT 1)`,
  `CREATE TABLE staged (id INTEGER PRIMARY KEY AUTOINCREMENT, secret CHAR(48) NOT NULL UNIQUE,
     new_acct BOOLEAN NOT NULL, existing_user INTEGER REFERENCES user(id),
     email VARCHAR(255) COLLATE NOCASE NOT NULL UNIQUE, passwd CHAR(64),
     ts INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)))`,
  `CREATE TABLE idp (id INTEGER PRIMARY KEY AUTOINCREMENT, domain VARCHAR(255) COLLATE NOCASE NOT NULL UNIQUE,
     lastSeen INTEGER NOT NULL DEFAULT 0)`,
];

/** A timestamp literal for the engine: MySQL TIMESTAMP from epoch seconds, SQLite the seconds. */
const at = (db: TestDatabase, seconds: number): string =>
  db.engine === 'sqlite' ? String(seconds) : `FROM_UNIXTIME(${seconds})`;

async function count(db: TestDatabase, table: string): Promise<number> {
  return Number((await db.exec(`SELECT COUNT(*) AS n FROM ${table}`))[0]?.n);
}

async function columns(db: TestDatabase, table: string): Promise<Record<string, string>> {
  if (db.engine === 'sqlite') {
    const rows = await db.exec(`PRAGMA table_info(${table})`);
    return Object.fromEntries(
      rows.map((r) => [String(r.name), `${String(r.type)}${r.notnull ? ' not null' : ''}`]),
    );
  }
  const rows = await db.exec(
    `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, IS_NULLABLE AS nullable, COLUMN_KEY AS k
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [table],
  );
  // MySQL 8 drops integer display widths (bigint(20) → bigint); compare without them.
  const type = (t: string) => t.replace(/^(bigint|int)\(\d+\)/, '$1');
  return Object.fromEntries(
    rows.map((r) => [
      String(r.name),
      `${type(String(r.type))}${r.nullable === 'NO' ? ' not null' : ''}${r.k === 'UNI' ? ' unique' : ''}`,
    ]),
  );
}

await forEachEngine('schema: a fresh database', (db, engine) => {
  test('our migrations create the original tables with the original columns', async () => {
    assert.deepEqual(await db().migrate(), OURS);
    if (engine === 'mariadb') {
      assert.deepEqual(await columns(db(), 'user'), {
        id: 'bigint not null',
        passwd: 'char(64)',
        lastPasswordReset: 'timestamp not null',
        failedAuthTries: 'int not null',
      });
      assert.deepEqual(await columns(db(), 'email'), {
        id: 'bigint not null',
        user: 'bigint not null',
        address: 'varchar(255) not null unique',
        type: "enum('secondary','primary') not null",
        verified: 'tinyint(1) not null',
      });
      assert.deepEqual(await columns(db(), 'staged'), {
        id: 'bigint not null',
        secret: 'char(48) not null unique',
        new_acct: 'tinyint(1) not null',
        existing_user: 'bigint',
        email: 'varchar(255) not null unique',
        passwd: 'char(64)',
        ts: 'timestamp not null',
      });
      assert.deepEqual(await columns(db(), 'idp'), {
        id: 'bigint not null',
        domain: 'varchar(255) not null unique',
        lastSeen: 'timestamp not null',
      });
      const fks = await db().exec(
        `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, REFERENCED_TABLE_NAME AS r FROM information_schema.KEY_COLUMN_USAGE
          WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL ORDER BY TABLE_NAME`,
      );
      assert.deepEqual(
        fks.map((f) => `${String(f.t)}.${String(f.c)}→${String(f.r)}`),
        ['email.user→user', 'staged.existing_user→user'],
      );
    } else {
      assert.deepEqual(Object.keys(await columns(db(), 'user')), [
        'id',
        'passwd',
        'lastPasswordReset',
        'failedAuthTries',
      ]);
      assert.deepEqual(Object.keys(await columns(db(), 'email')), [
        'id',
        'user',
        'address',
        'type',
        'verified',
      ]);
      assert.deepEqual(Object.keys(await columns(db(), 'staged')), [
        'id',
        'secret',
        'new_acct',
        'existing_user',
        'email',
        'passwd',
        'ts',
      ]);
      assert.deepEqual(Object.keys(await columns(db(), 'idp')), ['id', 'domain', 'lastSeen']);
    }
    // Our only additions: the rate-limit table, an index on staged.ts, the mail outbox (SPEC §4.13),
    // revoked sessions (SPEC §4.12), and the migration bookkeeping.
    assert.deepEqual(Object.keys(await columns(db(), 'rate_limit')), ['bucket', 'window_start', 'hits']);
    assert.deepEqual(Object.keys(await columns(db(), 'mail_outbox')), [
      'token',
      'mail',
      'created_at',
      'attempts',
      'next_attempt_at',
    ]);
    assert.deepEqual(Object.keys(await columns(db(), 'revoked_session')), ['sid', 'expires_at']);
  });

  test('migrating again changes nothing', async () => {
    assert.deepEqual(await db().migrate(), []);
    assert.deepEqual(await migrationStatus(db().settings().write), { applied: OURS, pending: [] });
  });
});

await forEachEngine('schema: an existing Persona database', (db) => {
  const password = 'original persona password';
  const hash = hashOf(password);
  const created = 1_356_998_400; // 2013-01-01, when the original wrote these rows

  test('the original DDL and rows, then our migrations: every row kept and read correctly', async () => {
    const d = db();
    assert.match(hash, /^\$2a\$/);
    for (const ddl of d.engine === 'sqlite' ? ORIGINAL_SQLITE : ORIGINAL_MYSQL) await d.exec(ddl);
    await d.exec(
      `INSERT INTO user (id, passwd, lastPasswordReset, failedAuthTries) VALUES
        (1, ?, ${at(d, created)}, 0), (2, NULL, ${at(d, created + 60)}, 0), (5, ?, ${at(d, created + 120)}, 4)`,
      [hash, hash],
    );
    await d.exec(
      `INSERT INTO email (user, address, type, verified) VALUES
        (1, 'Lloyd@Example.com', 'secondary', 1), (1, 'lloyd@other.example', 'secondary', 0),
        (2, 'pat@primary.example', 'primary', 1), (5, 'sam@example.com', 'secondary', 1)`,
    );
    // A verification the original mailed a moment ago (ts defaults to now), still pending.
    const pending = 'A'.repeat(24) + 'b'.repeat(24);
    await d.exec(
      `INSERT INTO staged (secret, new_acct, existing_user, email, passwd) VALUES (?, 1, NULL, ?, ?)`,
      [pending, 'newcomer@example.com', hash],
    );
    await d.exec(`INSERT INTO idp (domain, lastSeen) VALUES ('primary.example', ${at(d, created + 300)})`);
    const before = { user: 3, email: 4, staged: 1, idp: 1 };

    assert.deepEqual(await d.migrate(), OURS);
    for (const [table, n] of Object.entries(before)) assert.equal(await count(d, table), n, table);

    const writer = openWriter(d.settings());
    const reader = openReader(d.settings());
    try {
      const uid = await reader.emailToUID('lloyd@example.com');
      assert.equal(uid, 1);
      const auth = await reader.checkAuth(1);
      assert.equal(auth?.hash, hash);
      assert.equal(await bcrypt.compare(password, auth?.hash ?? ''), true, 'the $2a$ hash still checks');
      assert.equal(await bcrypt.compare('wrong', auth?.hash ?? ''), false);
      assert.equal(await reader.lastPasswordReset(1), created);
      assert.deepEqual(await reader.emailInfo('LLOYD@example.COM'), {
        userId: 1,
        normalizedEmail: 'Lloyd@Example.com',
        lastUsedAs: 'secondary',
        verified: true,
        hasPassword: true,
      });
      assert.equal(await reader.emailIsVerified('lloyd@other.example'), false);
      assert.deepEqual(await reader.listEmails(1), ['Lloyd@Example.com', 'lloyd@other.example']);
      assert.deepEqual(await reader.emailInfo('pat@primary.example'), {
        userId: 2,
        normalizedEmail: 'pat@primary.example',
        lastUsedAs: 'primary',
        verified: true,
        hasPassword: false,
      });
      assert.deepEqual(await reader.checkAuth(5), { hash, failedAuthTries: 4 });
      assert.equal((await reader.getIDPLastSeen('primary.example'))?.getTime(), (created + 300) * 1000);

      // The original's pending token completes through our layer; the new account follows its ids.
      assert.equal(await reader.haveVerificationSecret(pending), true);
      const account = await writer.completeCreateUser(pending);
      assert.ok(account.userId > 5);
      assert.equal(await reader.emailToUID('newcomer@example.com'), account.userId);
      assert.equal(
        await bcrypt.compare(password, (await reader.checkAuth(account.userId))?.hash ?? ''),
        true,
      );

      // And our writes land in the original's tables as the original would read them.
      await writer.incAuthFailures(1);
      const [row] = await d.exec('SELECT failedAuthTries AS f FROM user WHERE id = 1');
      assert.equal(Number(row?.f), 1);
    } finally {
      await Promise.all([writer.close(), reader.close()]);
    }
  });
});

await forEachEngine('schema: an older original without later columns', (db) => {
  test('columns added by later versions of the original are added with their defaults', async () => {
    const d = db();
    const hash = hashOf('old account');
    if (d.engine === 'sqlite') {
      await d.exec('CREATE TABLE user (id INTEGER PRIMARY KEY AUTOINCREMENT, passwd CHAR(64))');
      await d.exec(
        `CREATE TABLE email (id INTEGER PRIMARY KEY AUTOINCREMENT, user INTEGER NOT NULL REFERENCES user(id),
           address VARCHAR(255) COLLATE NOCASE NOT NULL UNIQUE, type TEXT NOT NULL DEFAULT 'secondary')`,
      );
    } else {
      await d.exec('CREATE TABLE user (id BIGINT AUTO_INCREMENT PRIMARY KEY, passwd CHAR(64)) ENGINE=InnoDB');
      await d.exec(
        `CREATE TABLE email (id BIGINT AUTO_INCREMENT PRIMARY KEY, user BIGINT NOT NULL,
           address VARCHAR(255) UNIQUE NOT NULL, type ENUM('secondary', 'primary') DEFAULT 'secondary' NOT NULL,
           FOREIGN KEY user_fkey (user) REFERENCES user(id)) ENGINE=InnoDB`,
      );
    }
    await d.exec('INSERT INTO user (id, passwd) VALUES (7, ?)', [hash]);
    await d.exec(`INSERT INTO email (user, address) VALUES (7, 'early@example.com')`);
    await d.migrate();
    const { reader } = await d.open();
    assert.deepEqual(await reader.checkAuth(7), { hash, failedAuthTries: 0 });
    assert.equal(await reader.lastPasswordReset(7), 0);
    assert.equal(await reader.emailIsVerified('early@example.com'), true);
    assert.equal(await count(d, 'staged'), 0, 'missing tables are created');
  });
});
