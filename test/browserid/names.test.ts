import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emailDomain, isEmail, isHostname } from '../../src/browserid/names.ts';

test('hostnames: labels, dotted quads, and nothing else', () => {
  for (const ok of ['example.com', 'a-b.example.co.uk', 'localhost', '127.0.0.1', 'xn--bcher-kva.example']) {
    assert.equal(isHostname(ok), true, ok);
  }
  for (const bad of [
    '',
    '-a.com',
    'a-.com',
    'a..com',
    'exa mple.com',
    'a/b',
    'a:80',
    'x'.repeat(64) + '.com',
    42,
    null,
  ]) {
    assert.equal(isHostname(bad), false, String(bad));
  }
});

test('email addresses: local@domain with a dotted domain, bounded lengths', () => {
  for (const ok of ['a@example.com', "o'brien+tag@mail.example.org", 'A.B@EXAMPLE.COM'])
    assert.equal(isEmail(ok), true, ok);
  const tooLong = `${'a'.repeat(60)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`;
  for (const bad of [
    '',
    'a',
    '@example.com',
    'a@',
    'a@localhost',
    'a@1.2.3.4',
    'a..b@example.com',
    '"q"@example.com',
    `${'a'.repeat(65)}@example.com`,
    tooLong,
    'a@exa_mple.com',
    'a@example.com\n',
    {},
  ]) {
    assert.equal(isEmail(bad), false, String(bad));
  }
  assert.equal(emailDomain('A@Example.COM'), 'example.com');
});
