import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareAudiences } from '../../src/browserid/audience.ts';
import { BrowserIdError } from '../../src/browserid/errors.ts';

function reason(expected: string, asserted: string): string | undefined {
  try {
    compareAudiences(expected, asserted);
    return undefined;
  } catch (err) {
    assert.ok(err instanceof BrowserIdError);
    return err.message;
  }
}

test('full origins match on scheme, host and port, with default ports filled in', () => {
  assert.equal(reason('https://rp.example', 'https://rp.example'), undefined);
  assert.equal(reason('https://rp.example:443', 'https://rp.example'), undefined);
  assert.equal(reason('http://rp.example', 'http://rp.example:80/'), undefined);
  assert.equal(reason('app://rp.example', 'app://rp.example:80'), undefined);
  assert.equal(reason('https://RP.example', 'https://rp.EXAMPLE'), undefined);
});

test('the relying party may name host:port or a bare host, and only those parts are compared', () => {
  assert.equal(reason('rp.example:8443', 'https://rp.example:8443'), undefined);
  assert.equal(reason('rp.example', 'http://rp.example:8080'), undefined);
  assert.equal(reason('rp.example:443', 'https://rp.example'), undefined);
});

test('each mismatch says which part, in the original words', () => {
  assert.equal(reason('https://rp.example', 'http://rp.example'), 'audience mismatch: scheme mismatch');
  assert.equal(reason('https://rp.example', 'https://rp.example:8443'), 'audience mismatch: port mismatch');
  assert.equal(reason('rp.example:80', 'https://rp.example'), 'audience mismatch: port mismatch');
  assert.equal(reason('https://rp.example', 'https://evil.example'), 'audience mismatch: domain mismatch');
  assert.equal(reason('rp.example', 'evil.example'), 'audience mismatch: domain mismatch');
  assert.equal(reason('https://*.example.org', 'https://a.example.org'), 'audience mismatch: domain missing');
  assert.equal(reason('https://rp.example', ''), 'audience mismatch: domain missing');
  // A port without a host (the original's verifier-test): no host, not a malformed audience.
  assert.equal(reason(':8080', 'http://rp.example:8080'), 'audience mismatch: domain missing');
  assert.equal(reason('a:b:c', 'https://rp.example'), 'malformed domain');
  assert.equal(reason('https://rp.example/path', 'https://rp.example'), 'malformed domain');
});
