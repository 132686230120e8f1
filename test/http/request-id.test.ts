/**
 * Request ids (issue 12): every response and log line of a request carries one id; a caller's id (the
 * edge's, another tier's) is kept, but only in the shape ids have, so a client cannot put a long string or
 * a forged log line into every log line of its request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, createTierApp } from '../../src/http/app.ts';
import type { Upstream } from '../../src/http/upstream.ts';
import { buildRouter } from '../../src/tiers/router/index.ts';
import { trustedEdges } from '../../src/tiers/router/client-address.ts';

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

test('the router keeps a client’s request id only from a trusted edge', async (t) => {
  // An upstream that answers with the id it was given: what the tiers behind would log.
  const seen: string[] = [];
  const upstream = {
    call: async (req: { headers: Record<string, string> }) => {
      seen.push(req.headers['x-request-id'] ?? '');
      return { status: 200, headers: {}, body: 'ok' };
    },
  } as unknown as Upstream;
  const idThrough = async (edges: string[]) => {
    const { app } = buildRouter({
      webhead: upstream,
      dbwriter: upstream,
      verifier: upstream,
      trustedEdges: trustedEdges(edges),
      logger: createLogger('router', 'silent'),
    });
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    t.after(() => app.close());
    await fetch(`${base}/include.js`, { headers: { 'x-request-id': 'chosen-by-the-client' } });
    return seen.at(-1);
  };
  assert.equal(await idThrough(['127.0.0.1']), 'chosen-by-the-client');
  assert.notEqual(await idThrough(['10.0.0.0/8']), 'chosen-by-the-client');
  assert.notEqual(await idThrough([]), 'chosen-by-the-client');
});
