/**
 * The example settings files of docs/environments.md load as they are (the settings exist and are valid),
 * staging and production run as production, and local's development features are refused in production.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../src/config/load.ts';

const envFile = (name: string): Record<string, string> =>
  Object.fromEntries(
    readFileSync(`docs/environments/${name}.env`, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'))
      .map((line) => {
        const eq = line.indexOf('=');
        assert.ok(eq > 0, `not KEY=VALUE: ${line}`);
        return [line.slice(0, eq), line.slice(eq + 1)];
      }),
  );

for (const name of ['local', 'staging', 'production']) {
  test(`docs/environments/${name}.env loads`, () => {
    const config = loadConfig({ env: envFile(name) });
    assert.equal(config.env, name === 'local' ? 'development' : 'production');
    if (name !== 'local') {
      assert.match(config.publicUrl, /^https:\/\//);
      assert.notEqual(config.smtpUrl, '');
      assert.notEqual(config.statusTokenFile, '');
      assert.ok(config.webheadUrls.length >= 2);
    }
  });
}

test('local.env with PERSONA_ENV=production is refused (its development mailbox)', () => {
  assert.throws(
    () =>
      loadConfig({
        env: { ...envFile('local'), PERSONA_ENV: 'production', PERSONA_SMTP_URL: 'smtp://x:25' },
      }),
    /PERSONA_DEV_MAILBOX may not be enabled with PERSONA_ENV=production/,
  );
});
