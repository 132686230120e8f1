/** End-to-end flows shared by the stack tests on SQLite and on MariaDB. */
import assert from 'node:assert/strict';
import { request } from 'undici';
import { browser, tokenOf, type Browser } from './browser.ts';
import { jwcrypto, localVerify, type JwKeypair } from './jwcrypto.ts';
import type { SmtpSink } from './smtp.ts';

export const RP = 'https://rp.example';
export const PASSWORD = 'correct horse battery';

/** Signs up through stage_user → the mail → complete_user_creation, in one browser. */
export async function signUp(
  base: string,
  smtp: SmtpSink,
  email: string,
  password = PASSWORD,
): Promise<Browser> {
  const b = browser(base);
  const staged = await b.post('/wsapi/stage_user', { email, pass: password, site: RP });
  assert.deepEqual(staged.json(), { success: true }, staged.text);
  const mail = await smtp.waitFor(email);
  assert.match(mail.subject ?? '', /rp\.example/);
  const token = tokenOf(mail.text);
  assert.match(
    String(mail.text),
    new RegExp(`${base.replace(/[.:/]/g, '\\$&')}/verify_email_address\\?token=`),
  );
  const completed = await b.post('/wsapi/complete_user_creation', { token });
  assert.deepEqual(completed.json(), { success: true }, completed.text);
  return b;
}

/** A certificate for `email` on a fresh DS128 key made by browserid-crypto, then an assertion for the RP. */
export async function assertionFor(
  b: Browser,
  email: string,
  audience = RP,
): Promise<{ backed: string; keys: JwKeypair }> {
  const keys = await jwcrypto.generateKeypair('DS128');
  const certified = await b.post('/wsapi/cert_key', {
    email,
    pubkey: keys.publicKey.serialize(),
    ephemeral: false,
  });
  assert.equal(certified.status, 200, certified.text);
  assert.match(String(certified.headers['content-type']), /^text\/plain/);
  const assertion = await jwcrypto.assert({ audience, expiresAt: Date.now() + 120_000 }, keys.secretKey);
  return { backed: jwcrypto.bundle([certified.text], assertion), keys };
}

export async function verifyRemotely(
  base: string,
  backed: string,
  audience = RP,
): Promise<Record<string, unknown>> {
  const res = await request(`${base}/verify`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ assertion: backed, audience }).toString(),
  });
  assert.equal(res.statusCode, 200);
  return (await res.body.json()) as Record<string, unknown>;
}

/** browserid-local-verify judges the assertion, reading our support document as served by the router. */
export async function verifyWithMozilla(base: string, backed: string, issuer: string, audience = RP) {
  const doc = await (await request(`${base}/.well-known/browserid`)).body.json();
  return localVerify.verify({ assertion: backed, audience, documents: { [issuer]: doc }, fallback: issuer });
}
