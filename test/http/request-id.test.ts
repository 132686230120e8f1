/**
 * Request ids (issue 12): every response and log line of a request carries one id; a caller's id (the
 * edge's, another tier's) is kept, but only in the shape ids have, so a client cannot put a long string or
 * a forged log line into every log line of its request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, createTierApp } from '../../src/http/app.ts';

test('a caller’s request id is kept when it looks like one, replaced otherwise', async (t) => {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  const { app } = createTierApp({ tier: 'router', logger: createLogger('router', 'info', stream) });
  app.get('/x', async (request) => request.id);
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(() => app.close());
  const idFor = async (given?: string) => {
    const res = await fetch(`${base}/x`, { headers: given === undefined ? {} : { 'x-request-id': given } });
    const body = await res.text();
    assert.equal(res.headers.get('x-request-id'), body);
    return body;
  };
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  assert.match(await idFor(), uuid);
  assert.equal(await idFor('0123456789abcdef0123456789abcdef'), '0123456789abcdef0123456789abcdef');
  const tierId = '1b4e28ba-2fa1-11d2-883f-0016d3cca427';
  assert.equal(await idFor(tierId), tierId);
  for (const forged of ['A'.repeat(4000), 'A'.repeat(65), 'a b"}{"level":60', 'id\\u000a{"event":"signin"}'])
    assert.match(await idFor(forged), uuid, forged.slice(0, 20));
  const logged = lines.join('');
  assert.ok(!logged.includes('AAAAAAAAAAAAAAAAAAAA'));
  assert.ok(!logged.includes('"level":60'));
  assert.match(logged, new RegExp(`"reqId":"${tierId}"`));
});
