/** `persona migrate`, as an operator runs it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Sqlite from 'better-sqlite3';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function persona(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('persona migrate creates the schema in the data directory, then reports it up to date', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'persona-cli-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const env = { PERSONA_DATA_DIR: join(dir, 'var') };
  const first = persona(['migrate'], env);
  assert.equal(first.code, 0, first.err);
  assert.match(
    first.out,
    /persona\.sqlite: applied 0001-original-schema, 0002-staged-ts-index, 0003-rate-limit/,
  );
  const db = new Sqlite(join(dir, 'var', 'persona.sqlite'), { readonly: true });
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
    name: string;
  }[];
  db.close();
  for (const name of ['email', 'idp', 'rate_limit', 'staged', 'user'])
    assert.ok(
      tables.some((t) => t.name === name),
      name,
    );
  const again = persona(['migrate'], env);
  assert.equal(again.code, 0);
  assert.match(again.out, /up to date/);
  const status = persona(['migrate', '--status'], env);
  assert.match(status.out, /applied {2}0003-rate-limit/);
});

test('a bad PERSONA_DATABASE_URL stops it at once, naming the setting and hiding the password', () => {
  const bad = persona(['migrate'], { PERSONA_DATABASE_URL: 'postgres://admin:Sup3rS3cret@db/x' });
  assert.equal(bad.code, 2);
  assert.match(bad.err, /PERSONA_DATABASE_URL: unsupported scheme 'postgres:'/);
  assert.doesNotMatch(bad.err + bad.out, /Sup3rS3cret/);
});

test('an unreachable database fails with database unavailable and no password', () => {
  const down = persona(['migrate'], {
    PERSONA_DATABASE_URL: 'mysql://admin:Sup3rS3cret@127.0.0.1:1/browserid',
  });
  assert.equal(down.code, 1);
  assert.match(down.err, /mysql:\/\/admin:\*\*\*@127\.0\.0\.1:1\/browserid: database unavailable/);
  assert.doesNotMatch(down.err + down.out, /Sup3rS3cret/);
});

test('persona help lists migrate', () => {
  assert.match(persona(['help'], {}).out, /migrate \[--status\]/);
});
