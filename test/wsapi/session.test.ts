import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createSessionCodec,
  generateCookieSecret,
  sessionCookieHeader,
  sessionCookieName,
} from '../../src/wsapi/session.ts';

const secret = generateCookieSecret();
const codec = createSessionCodec({ secret, publicUrl: 'http://127.0.0.1:10002' });
const T = 1_800_000_000_000;

test('a sealed session opens to the same fields until it expires', () => {
  const value = codec.seal(
    { csrf: 'c', userid: 7, authLevel: 'password', lastPasswordReset: 12 },
    T,
    3_600_000,
  );
  assert.equal(value.split('.')[3], '3600000', 'the fourth field is the duration');
  assert.deepEqual(codec.open(value, T + 1000)?.session, {
    csrf: 'c',
    userid: 7,
    authLevel: 'password',
    lastPasswordReset: 12,
  });
  assert.ok(codec.open(value, T + 3_600_000));
  assert.equal(codec.open(value, T + 3_600_001), null);
});

test('forged, altered, garbled or foreign cookies open to nothing', () => {
  const value = codec.seal({ userid: 7 }, T, 3_600_000);
  const parts = value.split('.');
  const longer = [...parts];
  longer[3] = '999999999999';
  assert.equal(codec.open(longer.join('.'), T), null, 'a longer duration breaks the tag');
  const flipped = Buffer.from(parts[1]!, 'base64url');
  flipped[0] = (flipped[0] ?? 0) ^ 1;
  assert.equal(
    codec.open([parts[0], flipped.toString('base64url'), parts[2], parts[3], parts[4]].join('.'), T),
    null,
  );
  const other = createSessionCodec({ secret: generateCookieSecret(), publicUrl: 'http://127.0.0.1:10002' });
  assert.equal(other.open(value, T), null, 'another secret');
  const otherSite = createSessionCodec({ secret, publicUrl: 'https://login.example.org' });
  assert.equal(otherSite.open(value, T), null, 'the cookie name is bound in');
  for (const garbage of [
    undefined,
    '',
    'x',
    'a.b.c.d.e',
    '....',
    'x'.repeat(5000),
    `${parts.slice(0, 4).join('.')}.AAAA`,
  ]) {
    assert.equal(codec.open(garbage, T), null, String(garbage).slice(0, 20));
  }
});

test('cookie name and attributes: HttpOnly, Path=/wsapi, SameSite=Lax, Secure only on https', () => {
  assert.equal(sessionCookieName('https://login.persona.org'), 'browserid_state');
  assert.match(sessionCookieName('http://127.0.0.1:10002'), /^browserid_state_[0-9a-f]{6}$/);
  const plain = sessionCookieHeader('n', 'v', T, { https: false });
  assert.match(plain, /^n=v; Path=\/wsapi; Expires=[^;]+; HttpOnly; SameSite=Lax$/);
  assert.match(sessionCookieHeader('n', 'v', T, { https: true }), /; Secure$/);
  assert.throws(() => createSessionCodec({ secret: 'short', publicUrl: 'http://x' }), /at least 32/);
});

test('cookie secrets are 128 alphanumerics and differ each time', () => {
  const a = generateCookieSecret();
  assert.match(a, /^[A-Za-z0-9]{128}$/);
  assert.notEqual(a, generateCookieSecret());
});
