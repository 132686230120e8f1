import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { createTierApp, type TierAppOptions } from '../../src/http/app.ts';
import { ServiceError } from '../../src/http/errors.ts';
import { signTierRequest, type Tier } from '../../src/http/tier-auth.ts';
import { pino } from 'pino';
import { tierKeyPair } from '../helpers/tier-keys.ts';

const quiet = pino({ level: 'silent' });

async function serve(options: Partial<TierAppOptions> = {}) {
  const { app } = createTierApp({ tier: 'keysigner', logger: quiet, ...options });
  app.post('/echo', async (req) => ({ body: req.body, caller: req.caller ?? null }));
  app.get('/fail', async () => {
    throw new ServiceError('database-unavailable', 'database unavailable');
  });
  app.get('/crash', async () => {
    throw new Error('secret internals: hunter2');
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base: address };
}

test('heartbeat: shallow ok; deep runs every check with a time limit and names the failing one', async (t) => {
  let dbUp = true;
  const { app, base } = await serve({
    healthChecks: {
      database: async () => {
        if (!dbUp) throw new Error('database unavailable');
      },
      keysigner: () => Promise.resolve(),
    },
  });
  t.after(() => app.close());
  assert.equal(await (await request(`${base}/__heartbeat__`)).body.text(), 'ok');
  dbUp = false;
  const shallow = await request(`${base}/__heartbeat__`);
  assert.equal(shallow.statusCode, 200, 'shallow does not check dependencies');
  await shallow.body.dump();
  const deep = await request(`${base}/__heartbeat__?deep`);
  assert.equal(deep.statusCode, 500);
  assert.equal(await deep.body.text(), 'bad\ndatabase: database unavailable\n');
});

test('errors: registry codes map to status and text; unknown errors never leak their message', async (t) => {
  const { app, base } = await serve();
  t.after(() => app.close());
  const fail = await request(`${base}/fail`);
  assert.equal(fail.statusCode, 503);
  assert.equal(await fail.body.text(), 'Service Unavailable: database unavailable');
  const crash = await request(`${base}/crash`);
  assert.equal(crash.statusCode, 500);
  assert.doesNotMatch(await crash.body.text(), /hunter2/);
  const missing = await request(`${base}/nope`);
  assert.equal(missing.statusCode, 404);
  await missing.body.dump();
});

test('bodies: JSON and forms parsed, 10 KB limit, bad JSON is a 400', async (t) => {
  const { app, base } = await serve();
  t.after(() => app.close());
  const json = await request(`${base}/echo`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"a":1}',
  });
  assert.deepEqual(await json.body.json(), { body: { a: 1 }, caller: null });
  const form = await request(`${base}/echo`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'a=1&b=x%20y',
  });
  assert.deepEqual(await form.body.json(), { body: { a: '1', b: 'x y' }, caller: null });
  const big = await request(`${base}/echo`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ a: 'x'.repeat(11 * 1024) }),
  });
  assert.equal(big.statusCode, 413);
  await big.body.dump();
  const bad = await request(`${base}/echo`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{nope',
  });
  assert.equal(bad.statusCode, 400);
  assert.equal(await bad.body.text(), 'Bad Request: invalid JSON body');
});

test('headers: request id echoed (or made), security headers set', async (t) => {
  const { app, base } = await serve({ https: true });
  t.after(() => app.close());
  const given = await request(`${base}/__heartbeat__`, { headers: { 'x-request-id': 'abc-123' } });
  assert.equal(given.headers['x-request-id'], 'abc-123');
  await given.body.dump();
  const made = await request(`${base}/nope`);
  assert.match(String(made.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  assert.equal(made.headers['x-content-type-options'], 'nosniff');
  assert.equal(made.headers['x-frame-options'], 'DENY');
  assert.match(String(made.headers['strict-transport-security']), /max-age=10886400/);
  await made.body.dump();
});

test('metrics: Prometheus text with request histograms labelled by route and status', async (t) => {
  const { app, base } = await serve();
  t.after(() => app.close());
  await (await request(`${base}/fail`)).body.dump();
  const text = await (await request(`${base}/metrics`)).body.text();
  assert.match(
    text,
    /persona_http_request_duration_seconds_count\{[^}]*route="\/fail"[^}]*status="503"[^}]*\} 1/,
  );
  assert.match(text, /tier="keysigner"/);
  assert.match(text, /nodejs_eventloop_lag/);
});

test('load shedding: one stall sheds nothing (issue 10); sustained lag sheds, heartbeats still answer', async (t) => {
  const { app, base } = await serve({ maxEventLoopLagMs: 50 });
  t.after(() => app.close());
  // A low limit for the sustained part, so that a few seconds of blocking exceed it many times over.
  const { app: busy, base: busyBase } = await serve({ maxEventLoopLagMs: 10 });
  t.after(() => busy.close());
  const block = (ms: number) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      // Block the loop, as a burst of synchronous work would.
    }
  };
  const yieldToTimers = () => new Promise((resolve) => setTimeout(resolve, 0));
  await new Promise((resolve) => setTimeout(resolve, 250));
  block(400);
  await new Promise((resolve) => setTimeout(resolve, 250));
  const afterStall = await request(`${base}/nope`);
  assert.equal(afterStall.statusCode, 404, 'one late tick sheds nothing');
  await afterStall.body.dump();

  // Sustained: every timer tick late by well past three times the limit.
  for (let i = 0; i < 25; i++) {
    block(250);
    await yieldToTimers();
  }
  block(250);
  const shed = await request(`${busyBase}/nope`);
  assert.equal(shed.statusCode, 503);
  assert.equal(shed.headers['retry-after'], '2');
  assert.equal(await shed.body.text(), 'Service Unavailable: server is too busy');
  const heartbeat = await request(`${busyBase}/__heartbeat__`);
  assert.equal(heartbeat.statusCode, 200);
  await heartbeat.body.dump();
  const metrics = await (await request(`${busyBase}/metrics`)).body.text();
  assert.match(metrics, /persona_requests_shed_total\{[^}]*\} [1-9]/);
});

test('internal tiers: unsigned calls are refused even from loopback; only allowed, fresh, intact signatures pass', async (t) => {
  const webhead = tierKeyPair();
  const router = tierKeyPair();
  const callerKeys = new Map<Tier, typeof webhead.publicKey>([
    ['webhead', webhead.publicKey],
    ['router', router.publicKey],
  ]);
  const { app, base } = await serve({ callerKeys });
  t.after(() => app.close());
  const body = '{"email":"a@example.com"}';
  const post = (headers: Record<string, string>, payload = body) =>
    request(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: payload,
    });

  const unsigned = await post({});
  assert.equal(unsigned.statusCode, 403);
  assert.match(await unsigned.body.text(), /only answers signed calls/);

  const signed = signTierRequest('webhead', webhead.privateKey, 'keysigner', {
    method: 'POST',
    url: '/echo',
    body,
  });
  const ok = await post(signed);
  assert.equal(ok.statusCode, 200);
  assert.deepEqual(await ok.body.json(), { body: { email: 'a@example.com' }, caller: 'webhead' });

  // The same signed call sent again (a captured request replayed) is refused.
  const replayed = await post(signed);
  assert.equal(replayed.statusCode, 403);
  assert.match(await replayed.body.text(), /replayed/);

  const tampered = await post(signed, '{"email":"mallory@example.com"}');
  assert.equal(tampered.statusCode, 403);
  await tampered.body.dump();

  // The router holds a valid key but the matrix does not let it call the keysigner.
  const wrongTier = await post(
    signTierRequest('router', router.privateKey, 'keysigner', { method: 'POST', url: '/echo', body }),
  );
  assert.equal(wrongTier.statusCode, 403);
  assert.match(await wrongTier.body.text(), /router may not call keysigner/);

  // A signature by the wrong key under the webhead's name.
  const forged = await post(
    signTierRequest('webhead', router.privateKey, 'keysigner', { method: 'POST', url: '/echo', body }),
  );
  assert.equal(forged.statusCode, 403);
  await forged.body.dump();

  const stale = await post(
    signTierRequest(
      'webhead',
      webhead.privateKey,
      'keysigner',
      { method: 'POST', url: '/echo', body },
      Date.now() - 120_000,
    ),
  );
  assert.equal(stale.statusCode, 403);
  assert.match(await stale.body.text(), /stale/);

  // Heartbeats stay open for monitors.
  const heartbeat = await request(`${base}/__heartbeat__`);
  assert.equal(heartbeat.statusCode, 200);
  await heartbeat.body.dump();
});

test('a URL that cannot be decoded gets our own 400, with our headers, and is not echoed back', async (t) => {
  const { app, base } = await serve();
  t.after(() => app.close());
  for (const path of ['/%%%%', '/wsapi/%c0%ae']) {
    const res = await request(`${base}${path}`);
    const text = await res.body.text();
    assert.equal(res.statusCode, 400, path);
    assert.equal(text, 'Bad Request: malformed URL', path);
    assert.equal(res.headers['x-content-type-options'], 'nosniff', path);
    assert.ok(res.headers['x-request-id'], path);
  }
});
