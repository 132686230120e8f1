import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSupportDocument, supportDocumentFor } from '../../src/browserid/support-document.ts';
import { generateKeypair } from '../../src/browserid/keys.ts';
import { BrowserIdError } from '../../src/browserid/errors.ts';

const key = generateKeypair('RS256').publicKey;
const supported = { 'public-key': key.json, authentication: '/auth', provisioning: '/provision' };

test('a supported document yields its key and paths', () => {
  const doc = parseSupportDocument(JSON.stringify(supported));
  assert.equal(doc.kind, 'supported');
  assert.ok(doc.kind === 'supported');
  assert.deepEqual(doc.publicKey.json, key.json);
  assert.equal(doc.authentication, '/auth');
  assert.equal(doc.provisioning, '/provision');
  assert.deepEqual(
    supportDocumentFor(key, { authentication: '/auth', provisioning: '/provision' }),
    supported,
  );
});

test('precedence: disabled beats authority beats a supported document', () => {
  assert.deepEqual(parseSupportDocument({ ...supported, authority: 'x.example', disabled: true }), {
    kind: 'disabled',
  });
  assert.deepEqual(parseSupportDocument({ ...supported, authority: 'IdP.Example' }), {
    kind: 'delegated',
    authority: 'idp.example',
  });
  // A falsy disabled is ignored.
  assert.equal(parseSupportDocument({ ...supported, disabled: false }).kind, 'supported');
});

test('malformed documents name what is wrong', () => {
  const cases: [unknown, RegExp][] = [
    ['{', /invalid JSON/],
    ['[]', /not a JSON object/],
    [null, /not a JSON object/],
    [{ authority: 7 }, /malformed authority/],
    [{ authority: 'not a host!' }, /not a valid hostname/],
    [{ ...supported, authentication: undefined }, /missing authentication/],
    [{ ...supported, provisioning: 'https://evil.example/p' }, /provisioning must be a path/],
    [{ ...supported, provisioning: '//evil.example/p' }, /provisioning must be a path/],
    [{ ...supported, 'public-key': undefined }, /missing 'public-key'/],
    [{ ...supported, 'public-key': { algorithm: 'RS', n: 'x', e: '3' } }, /bad public-key/],
    [' '.repeat(70000), /too large/],
  ];
  for (const [input, why] of cases) {
    assert.throws(
      () => parseSupportDocument(input),
      (err: unknown) =>
        err instanceof BrowserIdError && err.code === 'malformed-support-document' && why.test(err.message),
      String(why),
    );
  }
});
