/** PERSONA_DATABASE_URL: the forms we accept, the messages for the rest, and no password anywhere. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { join, resolve } from 'node:path';
import {
  DatabaseConfigError,
  databaseSettings,
  databaseSettingsFrom,
  describeTarget,
  parseDatabaseUrl,
} from '../../src/db/read.ts';

test('empty means SQLite in the data directory', () => {
  assert.deepEqual(databaseSettings({ dataDir: '/srv/persona' }).write, {
    engine: 'sqlite',
    path: '/srv/persona/persona.sqlite',
  });
  assert.deepEqual(databaseSettings().write, { engine: 'sqlite', path: resolve('var/persona.sqlite') });
  const settings = databaseSettingsFrom({ databaseUrl: '', dataDir: '/d', tokenTtlMs: 3_600_000 });
  assert.equal(settings.tokenTtlMs, 3_600_000);
  assert.equal(settings.queryTimeoutMs, 5000);
  assert.equal(settings.read, settings.write, 'SQLite reads and writes one file');
});

test('sqlite: relative and absolute paths', () => {
  assert.deepEqual(parseDatabaseUrl('sqlite:data/p.db'), { engine: 'sqlite', path: resolve('data/p.db') });
  assert.deepEqual(parseDatabaseUrl('sqlite:/abs/p.db'), { engine: 'sqlite', path: '/abs/p.db' });
  assert.deepEqual(parseDatabaseUrl('sqlite:///abs/p.db'), { engine: 'sqlite', path: '/abs/p.db' });
});

test('mysql: the parts, defaults and options', () => {
  const target = parseDatabaseUrl(
    'mysql://persona:p%40ss%3Aw0rd@db.internal:3307/browserid?connectionLimit=20&wsrep_sync_wait=1',
  );
  assert.equal(target.engine, 'mysql');
  if (target.engine !== 'mysql') return;
  assert.equal(target.host, 'db.internal');
  assert.equal(target.port, 3307);
  assert.equal(target.user, 'persona');
  assert.equal(target.password, 'p@ss:w0rd', 'percent-decoded');
  assert.equal(target.database, 'browserid');
  assert.equal(target.connectionLimit, 20);
  assert.equal(target.wsrepSyncWait, 1);
  const plain = parseDatabaseUrl('mariadb://root@127.0.0.1/persona');
  assert.ok(
    plain.engine === 'mysql' && plain.port === 3306 && plain.password === '' && plain.connectionLimit === 10,
  );
});

test('the password never shows: not in JSON, inspect, descriptions or messages', () => {
  const target = parseDatabaseUrl('mysql://persona:Sup3rS3cret@db:3306/browserid');
  assert.doesNotMatch(JSON.stringify(target), /Sup3rS3cret/);
  assert.doesNotMatch(
    JSON.stringify({ settings: databaseSettings({ url: 'mysql://persona:Sup3rS3cret@db:3306/browserid' }) }),
    /Sup3rS3cret/,
  );
  assert.doesNotMatch(inspect(target, { depth: 5 }), /Sup3rS3cret/);
  assert.equal(describeTarget(target), 'mysql://persona:***@db:3306/browserid');
  for (const bad of [
    'mysql://persona:Sup3rS3cret@db:3306/',
    'mysql://persona:Sup3rS3cret@db:3306/bad-name',
    'mysql://persona:Sup3rS3cret@:3306/x',
    'mysql://persona:Sup3rS3cret@db:99999/x',
    'mysql://persona:Sup3rS3cret@db/x?pool=3',
    'mysql://persona:Sup3rS3cret@db/x?connectionLimit=0',
    'postgres://persona:Sup3rS3cret@db/x',
  ]) {
    assert.throws(
      () => parseDatabaseUrl(bad),
      (err: unknown) => {
        assert.ok(err instanceof DatabaseConfigError, bad);
        assert.match(err.message, /^PERSONA_DATABASE_URL: /, 'the message names the setting');
        assert.doesNotMatch(err.message, /Sup3rS3cret/);
        return true;
      },
    );
  }
});

test('bad URLs fail with a message that says what is expected', () => {
  const cases: [string, RegExp][] = [
    ['postgres://u@h/db', /unsupported scheme 'postgres:'; expected sqlite:<path> or mysql:/],
    ['just-a-path.db', /not a database URL; expected sqlite:<path>/],
    ['sqlite:', /needs a file path/],
    ['sqlite::memory:', /needs a file path/],
    ['sqlite://host/p.db', /sqlite:\/\/\/absolute\/path/],
    ['mysql://u@h', /database name/],
    ['mysql://h/db', /no user/],
    ['mysql://u@h/db?ssl=1', /unknown option 'ssl'/],
    ['mysql://u@h/db?wsrep_sync_wait=99', /wsrep_sync_wait/],
  ];
  for (const [url, message] of cases) assert.throws(() => parseDatabaseUrl(url), message, url);
  assert.throws(() => databaseSettings({ url: 'sqlite:a.db', readUrl: 'mysql://u@h/db' }), /same engine/);
  assert.throws(() => databaseSettings({ url: 'sqlite:a.db', readUrl: 'sqlite:b.db' }), /one file/);
  assert.throws(() => databaseSettings({ queryTimeoutMs: 0 }), /time limit/);
  assert.throws(() => databaseSettings({ tokenTtlMs: -1 }), /PERSONA_TOKEN_TTL_MS/);
});

test('a read URL names a replica or a read-only account for the read handle', () => {
  const settings = databaseSettings({
    url: 'mysql://writer:w@primary.db/browserid',
    readUrl: 'mysql://reader:r@replica.db/browserid',
  });
  assert.equal(describeTarget(settings.write), 'mysql://writer:***@primary.db:3306/browserid');
  assert.equal(describeTarget(settings.read), 'mysql://reader:***@replica.db:3306/browserid');
  assert.equal(databaseSettings({ url: `sqlite:${join('/tmp', 'x.db')}` }).read.engine, 'sqlite');
});
