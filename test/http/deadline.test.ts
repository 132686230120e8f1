/**
 * The request deadline (src/http/deadline.ts, SPEC §6) between real tiers: a signed caller's deadline
 * reaches the handler (and the queues it calls) only to shorten the callee's own; a tier call still queued
 * when the deadline passes is answered 503 at the deadline, not when a connection frees up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { request } from 'undici';
import { createTierApp } from '../../src/http/app.ts';
import { currentDeadline, DEADLINE_HEADER, deadlineOf } from '../../src/http/deadline.ts';
import { ServiceError } from '../../src/http/errors.ts';
import { signTierRequest, type Tier } from '../../src/http/tier-auth.ts';
import { createUpstream } from '../../src/http/upstream.ts';
import { tierKeyPair } from '../helpers/tier-keys.ts';

const quiet = pino({ level: 'silent' });

test('deadlineOf: the own budget, or a sooner caller deadline; never later; junk ignored', () => {
  assert.equal(deadlineOf(undefined, 1000, 500), 1500);
  assert.equal(deadlineOf('1200', 1000, 500), 1200);
  assert.equal(deadlineOf('999999', 1000, 500), 1500, 'a forged later deadline cannot lengthen');
  assert.equal(deadlineOf('900', 1000, 500), 900, 'already passed');
  for (const junk of ['', '1e9', '-5', '12.5', ' 1200', '1'.repeat(16), 'soon'])
    assert.equal(deadlineOf(junk, 1000, 500), 1500, JSON.stringify(junk));
  assert.equal(deadlineOf(['1200', '1300'], 1000, 500), 1500);
});

test('an internal tier serves a signed call under the caller deadline (body parsed, handler and what it awaits see it); a passed one is 503 + Retry-After', async (t) => {
  const router = tierKeyPair();
  const { app } = createTierApp({
    tier: 'webhead',
    logger: quiet,
    deadlineMs: 10_000,
    deadlineContext: true,
    callerKeys: new Map<Tier, typeof router.publicKey>([['router', router.publicKey]]),
  });
  app.post('/seen', async () => {
    await new Promise((r) => setTimeout(r, 5));
    return { deadline: currentDeadline() ?? null };
  });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(() => app.close());
  const call = async (deadline?: number) => {
    const body = JSON.stringify({ a: 1 });
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      ...signTierRequest('router', router.privateKey, 'webhead', { method: 'POST', url: '/seen', body }),
    };
    if (deadline !== undefined) headers[DEADLINE_HEADER] = String(deadline);
    const res = await request(`${base}/seen`, { method: 'POST', headers, body });
    return { status: res.statusCode, retryAfter: res.headers['retry-after'], text: await res.body.text() };
  };
  const soon = Date.now() + 3000;
  assert.deepEqual(JSON.parse((await call(soon)).text), { deadline: soon });
  const before = Date.now();
  const own = (JSON.parse((await call()).text) as { deadline: number }).deadline;
  assert.ok(own >= before + 10_000 && own <= Date.now() + 10_000, 'without a header: its own budget');
  const forged = (JSON.parse((await call(Date.now() + 3_600_000)).text) as { deadline: number }).deadline;
  assert.ok(forged <= Date.now() + 10_000, 'a later deadline is cut to its own budget');
  const passed = await call(Date.now() - 1);
  assert.equal(passed.status, 503);
  assert.equal(passed.text, 'Service Unavailable: request deadline passed');
  assert.equal(passed.retryAfter, '2');
});

test('a public tier (the router) ignores a deadline header from outside', async (t) => {
  const { app } = createTierApp({ tier: 'router', logger: quiet, deadlineMs: 10_000 });
  app.get('/seen', async (req) => ({ deadline: req.deadline, inContext: currentDeadline() ?? null }));
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(() => app.close());
  const res = await request(`${base}/seen`, { headers: { [DEADLINE_HEADER]: String(Date.now() - 1) } });
  assert.equal(res.statusCode, 200);
  const { deadline, inContext } = (await res.body.json()) as { deadline: number; inContext: null };
  assert.ok(deadline > Date.now() + 9000);
  // The router passes the deadline to its calls itself: no AsyncLocalStorage slowing its promises.
  assert.equal(inContext, null);
});

test('upstream: the deadline travels in the header; a call queued behind a busy connection gets 503 at its deadline and is never sent', async (t) => {
  const key = tierKeyPair();
  const { app } = createTierApp({
    tier: 'webhead',
    logger: quiet,
    callerKeys: new Map<Tier, typeof key.publicKey>([['router', key.publicKey]]),
  });
  const seen: { url: string; deadline: string | undefined }[] = [];
  let releaseSlow: () => void = () => undefined;
  const slowDone = new Promise<void>((resolve) => {
    releaseSlow = resolve;
  });
  app.get('/slow', async (req) => {
    seen.push({ url: req.url, deadline: req.headers[DEADLINE_HEADER] as string | undefined });
    await slowDone;
    return 'slow';
  });
  app.get('/quick', async (req) => {
    seen.push({ url: req.url, deadline: req.headers[DEADLINE_HEADER] as string | undefined });
    return 'quick';
  });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const upstream = createUpstream({
    tier: 'webhead',
    urls: [base],
    caller: 'router',
    callerKey: key.privateKey,
    logger: quiet,
    connections: 1,
  });
  t.after(async () => {
    releaseSlow();
    await upstream.close();
    await app.close();
  });

  const slowDeadline = Date.now() + 8000;
  const slow = upstream.call({ method: 'GET', url: '/slow', deadline: slowDeadline });
  while (seen.length === 0) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(seen[0], { url: '/slow', deadline: String(slowDeadline) });

  const started = Date.now();
  const queued = upstream.call({ method: 'GET', url: '/quick', deadline: started + 300 });
  // Were the deadline not kept, the queued call would wait for this.
  setTimeout(releaseSlow, 5000).unref();
  await assert.rejects(queued, (err: unknown) => {
    assert.ok(err instanceof ServiceError);
    assert.equal(err.status, 503);
    assert.equal(err.reason, 'request deadline passed');
    return true;
  });
  const waited = Date.now() - started;
  assert.ok(
    waited >= 290 && waited < 4000,
    `refused at its deadline (${waited} ms), not after the slow call`,
  );

  releaseSlow();
  assert.equal((await slow).body.toString(), 'slow');
  // The connection is free again: the expired call was dropped, not sent late.
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(
    seen.map((s) => s.url),
    ['/slow'],
  );
  assert.deepEqual(upstream.healthy(), [base], 'a passed deadline does not eject the instance');
  const after = await upstream.call({ method: 'GET', url: '/quick', deadline: Date.now() + 5000 });
  assert.equal(after.body.toString(), 'quick');
  await assert.rejects(upstream.call({ method: 'GET', url: '/quick', deadline: Date.now() - 1 }), /deadline/);
});
