/**
 * Load shedding (issue 10 item 7, SPEC §6): one late timer tick used to shed every request for a while.
 * Now the smoothed lag decides, with a probability growing from 0 at the limit to 1 at three times it;
 * static assets, the communication iframe and heartbeats are never shed; 503s carry Retry-After.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { request } from 'undici';
import { createTierApp } from '../../src/http/app.ts';
import { monitorEventLoopLag, neverShed, type LagClock } from '../../src/http/load-shedding.ts';
import type { Tier } from '../../src/http/tier-auth.ts';
import { createUpstream } from '../../src/http/upstream.ts';
import { buildRouter } from '../../src/tiers/router/index.ts';
import { tierKeyPair } from '../helpers/tier-keys.ts';

const quiet = pino({ level: 'silent' });
const LIMIT = 70;
const INTERVAL = 200;

/** A clock whose ticks the test fires, each `lateMs` after it was due. */
function fakeClock() {
  let now = 0;
  let tick: (() => void) | undefined;
  const clock: LagClock = {
    now: () => now,
    every(_ms, fn) {
      tick = fn;
      return () => {
        tick = undefined;
      };
    },
  };
  return {
    clock,
    tick: (lateMs = 0) => {
      now += INTERVAL + lateMs;
      tick?.();
    },
  };
}

/** Deterministic draws in [0, 1), evenly spread. */
function draws() {
  let i = 0;
  return () => (((i++ * 0.618033988749895) % 1) + 1) % 1;
}

test('one late tick, however late, sheds nothing', () => {
  const { clock, tick } = fakeClock();
  const monitor = monitorEventLoopLag({ limitMs: LIMIT, intervalMs: INTERVAL, clock, random: () => 0 });
  for (let i = 0; i < 10; i++) tick(5);
  tick(5000); // a long GC pause or a synchronous burst
  for (let i = 0; i < 20; i++) {
    assert.equal(monitor.shedProbability(), 0, `after the spike, tick ${i}`);
    assert.equal(monitor.shouldShed(), false);
    tick(5);
  }
});

test('sustained lag sheds a fraction that grows with it, up to everything; recovery sheds nothing again', () => {
  const { clock, tick } = fakeClock();
  const monitor = monitorEventLoopLag({ limitMs: LIMIT, intervalMs: INTERVAL, clock, random: draws() });
  const shedOf = (n: number) => Array.from({ length: n }, () => monitor.shouldShed()).filter(Boolean).length;

  // Twice the limit, sustained: shedding starts within a few ticks and settles near half.
  const probabilities: number[] = [];
  for (let i = 0; i < 30; i++) {
    tick(2 * LIMIT);
    probabilities.push(monitor.shedProbability());
  }
  assert.equal(probabilities[0], 0, 'not on the first late tick');
  assert.ok(
    probabilities.every((p, i) => i === 0 || p >= (probabilities[i - 1] ?? 0)),
    'grows',
  );
  const atTwice = monitor.shedProbability();
  assert.ok(atTwice > 0.4 && atTwice < 0.55, `at twice the limit: ${atTwice}`);
  const shed = shedOf(1000);
  assert.ok(shed > 380 && shed < 570, `sheds about that fraction of requests (${shed} of 1000)`);

  // Far above: everything.
  for (let i = 0; i < 30; i++) tick(10 * LIMIT);
  assert.equal(monitor.shedProbability(), 1);
  assert.equal(shedOf(100), 100);

  // Lag gone: back to nothing within seconds.
  for (let i = 0; i < 30; i++) tick(2);
  assert.equal(monitor.shedProbability(), 0);
  assert.equal(shedOf(100), 0);
  monitor.stop();
});

test('a limit of 0 never sheds', () => {
  const { clock, tick } = fakeClock();
  const monitor = monitorEventLoopLag({ limitMs: 0, intervalMs: INTERVAL, clock, random: () => 0 });
  for (let i = 0; i < 30; i++) tick(1000);
  assert.equal(monitor.shouldShed(), false);
});

test('never shed: static assets, the support document, the communication iframe, heartbeats, metrics', () => {
  for (const path of [
    '/include.js',
    '/include.js?v=3',
    '/dialog/dialog.js',
    '/css/style.css',
    '/i/logo.png',
    '/favicon.ico',
    '/.well-known/browserid',
    '/communication_iframe',
    '/__heartbeat__',
    '/__heartbeat__?deep',
    '/metrics',
  ])
    assert.equal(neverShed(path), true, path);
  for (const path of ['/', '/sign_in', '/wsapi/authenticate_user', '/verify', '/wsapi/session_context'])
    assert.equal(neverShed(path), false, path);
});

test('a tier under sustained lag sheds pages and ops with 503 + Retry-After, never static assets or the iframe; through the router too', async (t) => {
  const { clock, tick } = fakeClock();
  const lagMonitor = monitorEventLoopLag({ limitMs: LIMIT, intervalMs: INTERVAL, clock });
  const router = tierKeyPair();
  const { app: webhead } = createTierApp({
    tier: 'webhead',
    logger: quiet,
    lagMonitor,
    callerKeys: new Map<Tier, typeof router.publicKey>([['router', router.publicKey]]),
  });
  for (const path of [
    '/include.js',
    '/communication_iframe',
    '/.well-known/browserid',
    '/i/logo.png',
    '/sign_in',
  ])
    webhead.get(path, async () => 'here');
  const webheadBase = await webhead.listen({ port: 0, host: '127.0.0.1' });
  const upstream = (tier: Tier) =>
    createUpstream({
      tier,
      urls: [webheadBase],
      caller: 'router',
      callerKey: router.privateKey,
      logger: quiet,
    });
  const { app: front } = buildRouter({
    webhead: upstream('webhead'),
    dbwriter: upstream('dbwriter'),
    verifier: upstream('verifier'),
    logger: quiet,
  });
  const routerBase = await front.listen({ port: 0, host: '127.0.0.1' });
  t.after(async () => {
    await front.close();
    await webhead.close();
  });

  for (let i = 0; i < 40; i++) tick(10 * LIMIT);
  assert.equal(lagMonitor.shedProbability(), 1);
  for (const path of ['/include.js', '/communication_iframe', '/.well-known/browserid', '/i/logo.png']) {
    const res = await request(`${routerBase}${path}`);
    assert.equal(res.statusCode, 200, path);
    assert.equal(await res.body.text(), 'here');
  }
  const page = await request(`${routerBase}/sign_in`);
  assert.equal(page.statusCode, 503);
  assert.equal(page.headers['retry-after'], '2');
  assert.equal(await page.body.text(), 'Service Unavailable: server is too busy');
  const heartbeat = await request(`${webheadBase}/__heartbeat__`);
  assert.equal(heartbeat.statusCode, 200);
  await heartbeat.body.dump();
  lagMonitor.stop();
});
