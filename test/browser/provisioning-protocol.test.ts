/**
 * The dialog ↔ provisioning page message shapes (src/browser/provisioning-protocol.ts): each reader keeps
 * exactly the known fields of a well-formed message and drops everything else.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AUTH_CANCEL_PATH,
  AUTH_RETURN_PATH,
  MAX_CERTIFICATE_LENGTH,
  MAX_REASON_LENGTH,
  PROVISIONING_PROTOCOL,
  authenticationUrl,
  provisioningEnvelope,
  readFromProvisioning,
  readToProvisioning,
} from '../../src/browser/provisioning-protocol.ts';
import { PROTOCOL } from '../../src/browser/protocol.ts';

const wrap = (fields: Record<string, unknown>) => ({ protocol: PROVISIONING_PROTOCOL, ...fields });

test('the page’s messages are rebuilt from their known fields only', () => {
  assert.deepEqual(readFromProvisioning(wrap({ type: 'begin', extra: 1 })), { type: 'begin' });
  assert.deepEqual(readFromProvisioning(wrap({ type: 'genKeyPair' })), { type: 'genKeyPair' });
  assert.deepEqual(readFromProvisioning(wrap({ type: 'registerCertificate', cert: 'a.b.c', x: 2 })), {
    type: 'registerCertificate',
    cert: 'a.b.c',
  });
  assert.deepEqual(readFromProvisioning(wrap({ type: 'failure', reason: 'not signed in' })), {
    type: 'failure',
    reason: 'not signed in',
  });
});

test('a failure always ends the exchange, with its reason bounded', () => {
  assert.deepEqual(readFromProvisioning(wrap({ type: 'failure' })), { type: 'failure', reason: '' });
  assert.deepEqual(readFromProvisioning(wrap({ type: 'failure', reason: { toString: 1 } })), {
    type: 'failure',
    reason: '',
  });
  const long = readFromProvisioning(wrap({ type: 'failure', reason: 'x'.repeat(5000) }));
  assert.equal(long?.type === 'failure' ? long.reason.length : -1, MAX_REASON_LENGTH);
});

test('malformed or foreign messages from the page are dropped', () => {
  for (const data of [
    undefined,
    null,
    'begin',
    [],
    { type: 'begin' },
    { protocol: PROTOCOL, type: 'begin' },
    wrap({ type: 'identity', email: 'a@b.c', certDuration: 1 }),
    wrap({ type: 'registerCertificate' }),
    wrap({ type: 'registerCertificate', cert: '' }),
    wrap({ type: 'registerCertificate', cert: 42 }),
    wrap({ type: 'registerCertificate', cert: 'c'.repeat(MAX_CERTIFICATE_LENGTH + 1) }),
    wrap({ type: 'hello' }),
  ])
    assert.equal(readFromProvisioning(data), undefined, JSON.stringify(data));
});

test('the dialog’s messages are rebuilt and checked', () => {
  assert.deepEqual(readToProvisioning(wrap({ type: 'identity', email: 'a@b.c', certDuration: 3600, x: 1 })), {
    type: 'identity',
    email: 'a@b.c',
    certDuration: 3600,
  });
  assert.deepEqual(readToProvisioning(wrap({ type: 'publicKey', pubkey: '{"algorithm":"RS"}' })), {
    type: 'publicKey',
    pubkey: '{"algorithm":"RS"}',
  });
  for (const data of [
    wrap({ type: 'identity', email: 'a@b.c' }),
    wrap({ type: 'identity', email: 'a@b.c', certDuration: 0 }),
    wrap({ type: 'identity', email: 'a@b.c', certDuration: 1.5 }),
    wrap({ type: 'identity', email: 'a@b.c', certDuration: '3600' }),
    wrap({ type: 'identity', email: '', certDuration: 3600 }),
    wrap({ type: 'publicKey', pubkey: {} }),
    wrap({ type: 'begin' }),
    { protocol: PROTOCOL, type: 'publicKey', pubkey: 'k' },
  ])
    assert.equal(readToProvisioning(data), undefined, JSON.stringify(data));
});

test('envelopes round-trip through the readers', () => {
  const sent = provisioningEnvelope({ type: 'identity', email: 'a@b.c', certDuration: 60 });
  assert.equal(sent.protocol, PROVISIONING_PROTOCOL);
  assert.deepEqual(readToProvisioning(structuredClone(sent)), {
    type: 'identity',
    email: 'a@b.c',
    certDuration: 60,
  });
  assert.deepEqual(readFromProvisioning(provisioningEnvelope({ type: 'registerCertificate', cert: 'c' })), {
    type: 'registerCertificate',
    cert: 'c',
  });
});

test('the authentication URL carries the address and keeps the IdP’s own query', () => {
  assert.equal(
    authenticationUrl('https://idp.example/auth', 'alice+x@idp.example'),
    'https://idp.example/auth?email=alice%2Bx%40idp.example',
  );
  assert.equal(
    authenticationUrl('https://idp.example/auth?lang=fr#top', 'a@idp.example'),
    'https://idp.example/auth?lang=fr&email=a%40idp.example#top',
  );
  assert.equal(
    authenticationUrl('https://idp.example/auth?email=other%40x', 'a@idp.example'),
    'https://idp.example/auth?email=a%40idp.example',
  );
  assert.equal(AUTH_RETURN_PATH, '/sign_in?AUTH_RETURN');
  assert.equal(AUTH_CANCEL_PATH, '/sign_in?AUTH_RETURN_CANCEL');
});
