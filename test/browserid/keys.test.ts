import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sign, verify } from 'node:crypto';
import {
  DSA_GROUPS,
  generateKeypair,
  parsePublicKey,
  parseSecretKey,
  publicKeyOf,
  type AlgorithmLabel,
} from '../../src/browserid/keys.ts';
import { BrowserIdError } from '../../src/browserid/errors.ts';

const rejects = (fn: () => unknown, code: string) =>
  assert.throws(fn, (err: unknown) => err instanceof BrowserIdError && err.code === code);

for (const alg of ['RS64', 'RS128', 'RS256', 'DS128', 'DS256'] as AlgorithmLabel[]) {
  test(`${alg}: generate, serialize, re-parse, sign and verify`, () => {
    const { publicKey, secretKey } = generateKeypair(alg);
    assert.equal(publicKey.alg, alg);
    assert.equal(secretKey.alg, alg);
    const again = parsePublicKey(JSON.stringify(publicKey.json));
    assert.deepEqual(again.json, publicKey.json);
    assert.equal(again.alg, alg);
    const data = Buffer.from('signing input');
    const options = { key: parseSecretKey(secretKey.json).keyObject, dsaEncoding: 'ieee-p1363' as const };
    const signature = sign(secretKey.hash, data, options);
    assert.equal(signature.length, publicKey.signatureBytes);
    assert.ok(verify(publicKey.hash, data, { key: again.keyObject, dsaEncoding: 'ieee-p1363' }, signature));
    assert.deepEqual(publicKeyOf(secretKey).json, publicKey.json);
  });
}

test('public keys carry exactly the jwcrypto fields: decimal n/e, hex y/p/q/g', () => {
  const rs = generateKeypair('RS256').publicKey.json;
  assert.deepEqual(Object.keys(rs).sort(), ['algorithm', 'e', 'n']);
  assert.equal(rs.e, '65537');
  assert.match(rs.n ?? '', /^[0-9]{600,}$/);
  const ds = generateKeypair('DS128').publicKey.json;
  assert.deepEqual(Object.keys(ds).sort(), ['algorithm', 'g', 'p', 'q', 'y']);
  assert.equal(ds.p, DSA_GROUPS.DS128.p);
  assert.equal(ds.q, DSA_GROUPS.DS128.q);
});

test('DS128 signs with SHA-1 and DS256 with SHA-256 (an OpenSSL that drops SHA-1 DSA must fail here)', () => {
  assert.equal(generateKeypair('DS128').secretKey.hash, 'sha1');
  assert.equal(generateKeypair('DS256').secretKey.hash, 'sha256');
  assert.equal(generateKeypair('RS128').secretKey.hash, 'sha256');
});

test('an RS secret key with only n, e, d (as jwcrypto writes it) is usable: the primes are recovered', () => {
  const { publicKey, secretKey } = generateKeypair('RS128');
  const { n, e, d } = secretKey.json;
  const bare = parseSecretKey({ algorithm: 'RS', n, e, d });
  const data = Buffer.from('x');
  assert.ok(verify('sha256', data, publicKey.keyObject, sign('sha256', data, bare.keyObject)));
  // A d that does not belong to n cannot be factored.
  rejects(() => parseSecretKey({ algorithm: 'RS', n, e, d: '12345' }), 'malformed-key');
});

test('malformed keys are refused with a code, never an escaping exception', () => {
  const good = generateKeypair('DS128').publicKey.json;
  const cases: unknown[] = [
    null,
    42,
    'not json',
    '[]',
    {},
    { algorithm: 'RS' },
    { algorithm: 'RS', n: 'abc', e: '65537' },
    { algorithm: 'RS', n: '-5', e: '3' },
    { algorithm: 'RS', n: '9'.repeat(5000), e: '3' },
    { ...good, y: 'zz' },
    { ...good, y: '0' },
    { ...good, y: good.p },
    { ...good, g: '1' },
    { ...good, p: 123 },
  ];
  for (const input of cases) {
    assert.throws(
      () => parsePublicKey(input),
      (err: unknown) =>
        err instanceof BrowserIdError && ['malformed-key', 'unsupported-algorithm'].includes(err.code),
      JSON.stringify(input)?.slice(0, 60),
    );
  }
  rejects(() => parsePublicKey({ algorithm: 'EC', x: '1' }), 'unsupported-algorithm');
  // RSA-3072 is not one of jwcrypto's sizes.
  rejects(
    () => parsePublicKey({ algorithm: 'RS', n: (2n ** 3071n + 1n).toString(), e: '65537' }),
    'unsupported-algorithm',
  );
  rejects(() => parseSecretKey({ ...good, x: undefined }), 'malformed-key');
});
