/**
 * Tokens in no log (issue 10 item 3, SPEC §4.8): the tiers' logger redacts tokens and links wherever a log
 * line names them, and never writes a request's query string (emailed links carry the token there).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { createLogger, createTierApp } from '../../src/http/app.ts';

const SECRET = 'Zx9secretToken0123456789abcdef';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { lines, stream };
}

test('log lines naming a token or a link have it redacted', () => {
  const { lines, stream } = capture();
  const logger = createLogger('dbwriter', 'debug', stream);
  const link = `https://login.example.org/verify_email_address?token=${SECRET}`;
  logger.info({ token: SECRET }, 'top level');
  logger.info({ args: { token: SECRET, email: 'a@example.com' } }, 'nested');
  logger.info({ link }, 'a link');
  logger.info({ mail: { link, kind: 'new' } }, 'a nested link');
  logger.info({ req: { method: 'GET', url: `/verify_email_address?token=${SECRET}` } }, 'a request');
  assert.equal(lines.length, 5);
  const all = lines.join('');
  assert.ok(!all.includes(SECRET), all);
  assert.match(all, /"url":"\/verify_email_address"/);
  assert.match(all, /"email":"a@example.com"/);
});

test('a tier app logs no query string, whatever the outcome of the request', async (t) => {
  const { lines, stream } = capture();
  const { app } = createTierApp({ tier: 'webhead', logger: createLogger('webhead', 'debug', stream) });
  app.get('/verify_email_address', async () => 'ok');
  app.get('/broken', async () => {
    throw new Error('boom');
  });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(() => app.close());
  for (const path of ['/verify_email_address', '/broken', '/nowhere'])
    await (await request(`${base}${path}?token=${SECRET}`)).body.dump();
  await (
    await request(`${base}/verify_email_address?token=${SECRET}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: SECRET }),
    })
  ).body.dump();
  const all = lines.join('');
  assert.ok(lines.length >= 4, all);
  assert.ok(!all.includes(SECRET), all);
});

test('log lines naming a password have it redacted, at the top level too', () => {
  const { lines, stream } = capture();
  const logger = createLogger('webhead', 'debug', stream);
  logger.info({ pass: SECRET }, 'top level');
  logger.info({ password: SECRET, oldpass: SECRET, newpass: SECRET }, 'top level, other names');
  logger.info({ args: { pass: SECRET, email: 'a@example.com' } }, 'nested');
  const all = lines.join('');
  assert.equal(lines.length, 3);
  assert.ok(!all.includes(SECRET), all);
  assert.match(all, /"pass":"\[redacted\]"/);
});
