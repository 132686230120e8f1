import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parsePublicKey,
  parseSecretKey,
  parseSupportDocument,
  signJws,
  decodeJws,
  verifyJws,
} from '../../src/browserid/index.ts';

const persona = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/persona.js', ...args], { encoding: 'utf8' });

test('persona --help lists the commands; an unknown command exits 2', () => {
  const help = persona('--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /keys generate \[--dir D\] \[--force\]/);
  const unknown = persona('frobnicate');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
});

test('persona keys generate writes a working RS256 keypair, the secret with mode 0600, and refuses to overwrite', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'persona-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const first = persona('keys', 'generate', '--dir', dir);
  assert.equal(first.status, 0, first.stderr);
  const secretFile = join(dir, 'domain-key.secret.json');
  assert.equal(statSync(secretFile).mode & 0o777, 0o600);
  const secret = parseSecretKey(readFileSync(secretFile, 'utf8'));
  const publicKey = parsePublicKey(readFileSync(join(dir, 'domain-key.public.json'), 'utf8'));
  assert.equal(secret.alg, 'RS256');
  assert.ok(verifyJws(decodeJws(signJws({ hello: 1 }, secret)), publicKey));
  const doc = parseSupportDocument(readFileSync(join(dir, 'browserid.json'), 'utf8'));
  assert.ok(doc.kind === 'supported');
  assert.deepEqual(doc.publicKey.json, publicKey.json);

  const again = persona('keys', 'generate', '--dir', dir);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /refusing to overwrite .*--force/);
  assert.equal(
    readFileSync(secretFile, 'utf8'),
    JSON.stringify(secret.json) + '\n',
    'the old key is untouched',
  );

  // --force replaces the key, and a secret file left world-readable is tightened again.
  writeFileSync(secretFile, 'old');
  chmodSync(secretFile, 0o644);
  const forced = persona('keys', 'generate', '--dir', dir, '--force');
  assert.equal(forced.status, 0, forced.stderr);
  assert.equal(statSync(secretFile).mode & 0o777, 0o600);
  assert.notEqual(parseSecretKey(readFileSync(secretFile, 'utf8')).json.n, secret.json.n);
});
