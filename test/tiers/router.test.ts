import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { createTierApp } from '../../src/http/app.ts';
import type { Tier } from '../../src/http/tier-auth.ts';
import { createUpstream } from '../../src/http/upstream.ts';
import { buildRouter, route } from '../../src/tiers/router/index.ts';
import { tierKeyPair } from '../helpers/tier-keys.ts';

const quiet = pino({ level: 'silent' });
const routerKeys = tierKeyPair();

test('routing rules: /verify with or without a query, writes, reads, internal 404, unknown 400, the rest to the webhead', () => {
  const tierOf = (method: string, url: string) => {
    const r = route(method, url);
    return 'tier' in r ? r.tier : `${r.error.status} ${r.error.reason}`;
  };
  assert.equal(tierOf('POST', '/verify'), 'verifier');
  assert.equal(tierOf('POST', '/verify?x'), 'verifier');
  assert.equal(tierOf('POST', '/wsapi/stage_user'), 'dbwriter');
  assert.equal(tierOf('GET', '/wsapi/session_context'), 'webhead');
  assert.equal(tierOf('POST', '/wsapi/cert_key'), 'webhead');
  assert.equal(tierOf('POST', '/wsapi/saw_idp'), '404 no such api');
  assert.equal(tierOf('POST', '/wsapi/create_account_with_assertion'), '404 no such api');
  // The original's six internal ops, with the methods it used (reference/persona.md §2.2): 404 whatever
  // method our catalogue gives them.
  for (const [m, op] of [
    ['POST', 'create_account_with_assertion'],
    ['POST', 'user_used_email_as'],
    ['GET', 'increment_failed_auth_tries'],
    ['GET', 'reset_failed_auth_tries'],
    ['GET', 'saw_idp'],
    ['GET', 'forget_idp'],
  ] as const)
    assert.equal(tierOf(m, `/wsapi/${op}`), '404 no such api', `${m} ${op}`);
  assert.equal(tierOf('GET', '/wsapi/stage_user'), '400 no such api', 'wrong method');
  assert.equal(tierOf('GET', '/wsapi/nope'), '400 no such api');
  assert.equal(tierOf('GET', '/wsapi/__proto__'), '400 no such api');
  assert.equal(tierOf('GET', '/wsapi/fake_verification'), '400 no such api');
  assert.equal('tier' in route('GET', '/wsapi/fake_verification', true) ? 'webhead' : 'refused', 'webhead');
  assert.equal(tierOf('GET', '/sign_in'), 'webhead');
  assert.equal(tierOf('GET', '/.well-known/browserid'), 'webhead');
});

/** A stand-in tier that only answers signed router calls and says who it is. */
async function fakeTier(tier: Tier, name: string) {
  const { app } = createTierApp({
    tier,
    logger: quiet,
    callerKeys: new Map([['router', routerKeys.publicKey]]),
  });
  app.route({
    method: ['GET', 'POST'],
    url: '/*',
    handler: async (req, reply) => {
      reply.header('set-cookie', 'a=b; Path=/wsapi').header('x-frame-options', 'SAMEORIGIN');
      return { served: name, url: req.url, body: req.body ?? null, caller: req.caller, id: req.id };
    },
  });
  return { app, url: await app.listen({ port: 0, host: '127.0.0.1' }) };
}

test('the router forwards signed calls to the right tier and relays status, body and headers', async (t) => {
  const webhead = await fakeTier('webhead', 'webhead');
  const dbwriter = await fakeTier('dbwriter', 'dbwriter');
  const verifier = await fakeTier('verifier', 'verifier');
  const upstream = (tier: Tier, url: string) =>
    createUpstream({ tier, urls: [url], caller: 'router', callerKey: routerKeys.privateKey, logger: quiet });
  const ups = {
    webhead: upstream('webhead', webhead.url),
    dbwriter: upstream('dbwriter', dbwriter.url),
    verifier: upstream('verifier', verifier.url),
  };
  const { app } = buildRouter({ ...ups, logger: quiet });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(async () => {
    await app.close();
    await Promise.all(Object.values(ups).map((u) => u.close()));
    await Promise.all([webhead.app.close(), dbwriter.app.close(), verifier.app.close()]);
  });

  const post = await request(`${base}/wsapi/stage_user`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': 'rid-1' },
    body: '{"email":"a@example.com"}',
  });
  assert.equal(post.statusCode, 200);
  assert.equal(post.headers['set-cookie'], 'a=b; Path=/wsapi');
  assert.equal(post.headers['x-frame-options'], 'SAMEORIGIN', 'the tier decides framing');
  // The tier gets the router's request id (the client's own is believed only from a trusted edge).
  const routerId = post.headers['x-request-id'];
  assert.ok(typeof routerId === 'string' && routerId !== 'rid-1');
  assert.deepEqual(await post.body.json(), {
    served: 'dbwriter',
    url: '/wsapi/stage_user',
    body: { email: 'a@example.com' },
    caller: 'router',
    id: routerId,
  });

  const verify = (await (
    await request(`${base}/verify?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
  ).body.json()) as Record<string, unknown>;
  assert.equal(verify.served, 'verifier');
  const page = (await (await request(`${base}/sign_in`)).body.json()) as Record<string, unknown>;
  assert.equal(page.served, 'webhead');

  const internal = await request(`${base}/wsapi/saw_idp`, { method: 'POST' });
  assert.equal(internal.statusCode, 404);
  assert.equal(await internal.body.text(), 'Not Found: no such api');
  const unknown = await request(`${base}/wsapi/nope`);
  assert.equal(unknown.statusCode, 400);
  assert.equal(await unknown.body.text(), 'Bad Request: no such api');
});

test('a dead instance is taken out of rotation, requests go to the others, and it comes back with its heartbeat', async (t) => {
  const a = await fakeTier('webhead', 'a');
  const b = await fakeTier('webhead', 'b');
  const webhead = createUpstream({
    tier: 'webhead',
    urls: [a.url, b.url],
    caller: 'router',
    callerKey: routerKeys.privateKey,
    logger: quiet,
    probeIntervalMs: 100,
  });
  const other = createUpstream({
    tier: 'dbwriter',
    urls: ['http://127.0.0.1:9'],
    caller: 'router',
    callerKey: routerKeys.privateKey,
    logger: quiet,
  });
  const { app } = buildRouter({ webhead, dbwriter: other, verifier: other, logger: quiet });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(async () => {
    await app.close();
    await webhead.close();
    await other.close();
    await b.app.close();
  });
  const served = async () => ((await (await request(`${base}/x`)).body.json()) as { served: string }).served;
  assert.deepEqual(new Set([await served(), await served()]), new Set(['a', 'b']), 'round robin');

  const port = Number(new URL(a.url).port);
  await a.app.close();
  for (let i = 0; i < 6; i++) assert.equal(await served(), 'b');
  assert.deepEqual(webhead.healthy(), [b.url]);

  // The deep heartbeat names the tier with no instance left.
  const deep = await request(`${base}/__heartbeat__?deep`);
  assert.equal(deep.statusCode, 500);
  assert.match(await deep.body.text(), /dbwriter: no answer \(ECONNREFUSED\)/);

  // Restart a on its old port: its heartbeat brings it back.
  const { app: again } = createTierApp({
    tier: 'webhead',
    logger: quiet,
    callerKeys: new Map([['router', routerKeys.publicKey]]),
  });
  again.get('/*', async () => ({ served: 'a' }));
  await again.listen({ port, host: '127.0.0.1' });
  t.after(() => again.close());
  for (let i = 0; i < 50 && webhead.healthy().length < 2; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(webhead.healthy().length, 2);
  const seen = new Set([await served(), await served(), await served()]);
  assert.ok(seen.has('a'));
});

test('the relay answers as a tier does: body limit, malformed URLs, HEAD, security headers, 503 + Retry-After, access log, histogram', async (t) => {
  const webhead = await fakeTier('webhead', 'webhead');
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const ups = {
    webhead: createUpstream({
      tier: 'webhead',
      urls: [webhead.url],
      caller: 'router',
      callerKey: routerKeys.privateKey,
      logger: quiet,
    }),
    // Nobody listens here: the dbwriter is down.
    dbwriter: createUpstream({
      tier: 'dbwriter',
      urls: ['http://127.0.0.1:9'],
      caller: 'router',
      callerKey: routerKeys.privateKey,
      logger: quiet,
    }),
    verifier: createUpstream({
      tier: 'verifier',
      urls: [webhead.url],
      caller: 'router',
      callerKey: routerKeys.privateKey,
      logger: quiet,
    }),
  };
  const { app } = buildRouter({ ...ups, logger, https: true });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(async () => {
    await Promise.all(Object.values(ups).map((u) => u.close()));
    await webhead.app.close();
  });

  const page = await request(`${base}/sign_in?token=secret`);
  assert.equal(page.statusCode, 200);
  await page.body.text();
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  assert.equal(page.headers['referrer-policy'], 'strict-origin-when-cross-origin');
  assert.equal(page.headers['strict-transport-security'], 'max-age=10886400; includeSubDomains');
  assert.equal(page.headers['x-frame-options'], 'SAMEORIGIN', "the tier's own framing is relayed");
  const line = lines.find((l) => l.msg === 'request');
  assert.deepEqual(
    { reqId: line?.reqId, path: line?.path, status: line?.status, method: line?.method },
    { reqId: page.headers['x-request-id'], path: '/sign_in', status: 200, method: 'GET' },
    'one access line, without the query string',
  );
  assert.ok(!JSON.stringify(lines).includes('secret'));

  const head = await request(`${base}/sign_in`, { method: 'HEAD' });
  assert.equal(head.statusCode, 200);
  assert.equal(await head.body.text(), '');

  const tooBig = 'x'.repeat(11 * 1024);
  const declared = await request(`${base}/wsapi/stage_user`, { method: 'POST', body: tooBig });
  assert.equal(declared.statusCode, 413);
  assert.equal(await declared.body.text(), 'Payload Too Large: request body too large');
  const chunked = await request(`${base}/wsapi/stage_user`, {
    method: 'POST',
    body: Readable.from([tooBig.slice(0, 6000), tooBig.slice(6000)]),
  });
  assert.equal(chunked.statusCode, 413);
  await chunked.body.text();

  const bad = await request(`${base}/%%`);
  assert.equal(bad.statusCode, 400);
  assert.equal(await bad.body.text(), 'Bad Request: malformed URL');

  const down = await request(`${base}/wsapi/stage_user`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  assert.equal(down.statusCode, 503);
  assert.equal(down.headers['retry-after'], '2');
  assert.equal(await down.body.text(), 'Service Unavailable: dbwriter unavailable');

  // Methods nobody forwards, heartbeats and metrics are Fastify's.
  assert.equal((await request(`${base}/sign_in`, { method: 'DELETE' })).statusCode, 404);
  assert.equal((await request(`${base}/__heartbeat__`)).statusCode, 200);
  const counted = await (await request(`${base}/metrics`)).body.text();
  assert.match(
    counted,
    /persona_http_request_duration_seconds_count\{[^}]*route="\/\*"[^}]*method="GET"[^}]*status="200"[^}]*\} [1-9]/,
  );
  await app.close();
});
