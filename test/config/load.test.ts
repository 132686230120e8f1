import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, describeConfig, loadConfig } from '../../src/config/load.ts';
import { settings } from '../../src/config/settings.ts';

test('defaults, then the config file, then the environment', () => {
  assert.equal(loadConfig({ env: {} }).bcryptCost, 12);
  const dir = mkdtempSync(join(tmpdir(), 'persona-config-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ bcryptCost: 10, publicUrl: 'https://login.example.org' }));
  const fromFile = loadConfig({ env: { PERSONA_CONFIG: file } });
  assert.equal(fromFile.bcryptCost, 10);
  assert.equal(fromFile.publicUrl, 'https://login.example.org');
  const fromEnv = loadConfig({
    env: { PERSONA_CONFIG: file, PERSONA_BCRYPT_COST: '8', PERSONA_FORCIBLE_ISSUERS: 'a.example, b.example' },
  });
  assert.equal(fromEnv.bcryptCost, 8);
  assert.deepEqual(fromEnv.forcibleIssuers, ['a.example', 'b.example']);
  assert.equal(fromEnv.publicUrl, 'https://login.example.org');
});

test('bad values fail at start naming the setting and its source', () => {
  assert.throws(
    () => loadConfig({ env: { PERSONA_BCRYPT_COST: 'twelve' } }),
    (err: unknown) => err instanceof ConfigError && /PERSONA_BCRYPT_COST/.test(err.message),
  );
  assert.throws(() => loadConfig({ env: { PERSONA_BCRYPT_COST: '99' } }), /PERSONA_BCRYPT_COST: .*99/);
  assert.throws(
    () => loadConfig({ env: { PERSONA_PUBLIC_URL: 'login.example.org' } }),
    /PERSONA_PUBLIC_URL: expected an origin/,
  );
  assert.throws(
    () => loadConfig({ env: { PERSONA_PROXY_IDPS: '{nope' } }),
    /PERSONA_PROXY_IDPS: not valid JSON/,
  );
  assert.throws(
    () => loadConfig({ env: { PERSONA_FAKE_VERIFICATION: 'maybe' } }),
    /PERSONA_FAKE_VERIFICATION/,
  );
  assert.throws(
    () => loadConfig({ env: { PERSONA_CONFIG: '/nonexistent/x.json' } }),
    /PERSONA_CONFIG: cannot read/,
  );
  const dir = mkdtempSync(join(tmpdir(), 'persona-config-'));
  writeFileSync(join(dir, 'c.json'), JSON.stringify({ bcryptcost: 10 }));
  assert.throws(
    () => loadConfig({ env: { PERSONA_CONFIG: join(dir, 'c.json') } }),
    /unknown settings: bcryptcost/,
  );
});

test('secrets never appear in errors or descriptions', () => {
  const url = 'mysql://root:hunter2@db.example:3306/persona';
  const config = loadConfig({
    env: { PERSONA_DATABASE_URL: url, PERSONA_SMTP_URL: 'smtp://u:s3cret@mail.example:25' },
  });
  const described = JSON.stringify(describeConfig(config));
  assert.doesNotMatch(described, /hunter2|s3cret/);
  assert.throws(
    () => loadConfig({ env: { PERSONA_SMTP_URL: 'not a url with s3cret' } }),
    (err: unknown) =>
      err instanceof Error &&
      /PERSONA_SMTP_URL: invalid value/.test(err.message) &&
      !err.message.includes('s3cret'),
  );
});

test('a production config refuses development-only features', () => {
  assert.throws(
    () => loadConfig({ env: { PERSONA_ENV: 'production', PERSONA_FAKE_VERIFICATION: '1' } }),
    /PERSONA_FAKE_VERIFICATION may not be enabled with PERSONA_ENV=production/,
  );
  assert.throws(
    () => loadConfig({ env: { PERSONA_ENV: 'production', PERSONA_DEV_MAILBOX: 'true' } }),
    /PERSONA_DEV_MAILBOX/,
  );
  assert.throws(
    () =>
      loadConfig({
        env: {
          PERSONA_ENV: 'production',
          PERSONA_SHIMMED_PRIMARIES: '{"example.domain":"http://127.0.0.1:10005"}',
        },
      }),
    /PERSONA_SHIMMED_PRIMARIES may not be enabled/,
  );
  assert.equal(
    loadConfig({ env: { PERSONA_ENV: 'production', PERSONA_SMTP_URL: 'smtp://mail.example:25' } })
      .fakeVerification,
    false,
  );
});

test('docs/configuration.md documents every setting', () => {
  const doc = readFileSync('docs/configuration.md', 'utf8');
  for (const s of Object.values(settings))
    assert.ok(doc.includes(`\`${s.env}\``), `${s.env} is not documented`);
});
