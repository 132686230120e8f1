import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJws, signJws, verifyJws } from '../../src/browserid/jws.ts';
import { generateKeypair } from '../../src/browserid/keys.ts';
import { BrowserIdError } from '../../src/browserid/errors.ts';

const rs = generateKeypair('RS256');
const ds = generateKeypair('DS128');
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

test('compact form with a header of just {"alg"}', () => {
  const jws = signJws({ hello: 'world' }, ds.secretKey);
  const [head, body, sig] = jws.split('.');
  assert.deepEqual(JSON.parse(Buffer.from(head!, 'base64url').toString()), { alg: 'DS128' });
  assert.deepEqual(JSON.parse(Buffer.from(body!, 'base64url').toString()), { hello: 'world' });
  assert.equal(Buffer.from(sig!, 'base64url').length, 40, 'DS128 signatures are r‖s, 20 bytes each');
  const decoded = decodeJws(jws);
  assert.equal(verifyJws(decoded, ds.publicKey), true);
});

test('a tampered payload, a foreign key or a mismatched alg fails verification', () => {
  const jws = signJws({ a: 1 }, rs.secretKey);
  const [head, , sig] = jws.split('.');
  assert.equal(verifyJws(decodeJws(`${head}.${b64({ a: 2 })}.${sig}`), rs.publicKey), false);
  assert.equal(verifyJws(decodeJws(jws), generateKeypair('RS256').publicKey), false);
  // The right key under a header that names another algorithm: refused, as jwcrypto does.
  assert.equal(verifyJws(decodeJws(`${b64({ alg: 'RS128' })}.${b64({ a: 1 })}.${sig}`), rs.publicKey), false);
  // A DS signature presented for an RS key.
  const dsJws = signJws({ a: 1 }, ds.secretKey);
  assert.equal(verifyJws(decodeJws(dsJws), rs.publicKey), false);
});

test('signatures with leading zero bytes dropped are left-padded before verifying', () => {
  // Sign until the signature starts with a zero byte (about 1 in 256 for DS128 r), then strip it.
  for (let i = 0; i < 5000; i++) {
    const jws = signJws({ i }, ds.secretKey);
    const [head, body, sig] = jws.split('.');
    const bytes = Buffer.from(sig!, 'base64url');
    if (bytes[0] !== 0) continue;
    const short = `${head}.${body}.${bytes.subarray(1).toString('base64url')}`;
    assert.equal(verifyJws(decodeJws(short), ds.publicKey), true);
    return;
  }
  assert.fail('no signature with a leading zero byte in 5000 tries');
});

test('a signature longer than the key makes (junk appended) is malformed, as the original said', () => {
  for (const key of [rs, ds]) {
    const jws = signJws({ a: 1 }, key.secretKey);
    assert.equal(verifyJws(decodeJws(jws), key.publicKey), true);
    assert.throws(
      () => verifyJws(decodeJws(`${jws}gunk`), key.publicKey),
      (err: unknown) => err instanceof BrowserIdError && err.code === 'malformed-signature',
    );
  }
});

test('garbage and oversized input is refused as malformed signature', () => {
  const cases: unknown[] = [
    undefined,
    12,
    '',
    'a.b',
    'a.b.c.d',
    '!!!.e30.AA',
    `${b64([1])}.${b64({})}.AA`,
    `${b64({ alg: 1 })}.${b64({})}.AA`,
    `${b64({ alg: 'RS256' })}.bm90IGpzb24.AA`,
    `${b64({ alg: 'RS256' })}.${b64({})}.`,
    `${b64({ alg: 'RS256' })}.${b64('str')}.AA`,
    `${b64({ alg: 'RS256' })}.${b64({ x: 'y'.repeat(20000) })}.AA`,
  ];
  for (const input of cases) {
    assert.throws(
      () => decodeJws(input),
      (err: unknown) => err instanceof BrowserIdError && err.code === 'malformed-signature',
      String(input).slice(0, 40),
    );
  }
});
