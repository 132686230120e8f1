// The browser routes as the webhead serves them: bundles, origin, headers, caching, the test hook's gate.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { createTierApp, type TierApp } from '../../src/http/app.ts';
import type { Runtime } from '../../src/tiers/webhead/runtime.ts';
import {
  BUNDLE_ENTRIES,
  INCLUDE_CACHE_CONTROL,
  PAGE_CACHE_CONTROL,
  loadBundles,
  registerStatic,
  type Bundles,
} from '../../src/tiers/webhead/static.ts';

const ORIGIN = 'https://login.persona.test';

function build(fakeVerification: boolean, bundles: () => Promise<Bundles>): TierApp {
  const tierApp = createTierApp({ tier: 'example', logLevel: 'silent' });
  // registerStatic reads only these two fields.
  const rt = { origin: ORIGIN, deps: { fakeVerification } } as unknown as Runtime;
  registerStatic(tierApp.app, rt, bundles);
  return tierApp;
}

describe('webhead browser routes', () => {
  let bundles: Bundles;
  let dev: TierApp;
  let prod: TierApp;

  before(async () => {
    bundles = await loadBundles();
    dev = build(true, async () => bundles);
    prod = build(false, async () => bundles);
  });
  after(async () => {
    await dev.app.close();
    await prod.app.close();
  });

  test('the bundles are small and minified', () => {
    // What every site loads on every page, and the IdPs' shims, stay tiny; the pages stay under 12 KB gzip.
    const tiny = new Set(['include', 'communication_iframe', 'provisioning_api', 'authentication_api']);
    for (const [name, code] of Object.entries(bundles)) {
      assert.ok(code.length > 500, `${name} is built`);
      const gzip = gzipSync(code, { level: 9 }).length;
      if (tiny.has(name)) assert.ok(code.length < 8 * 1024, `${name} is ${code.length} B`);
      else assert.ok(gzip < 12 * 1024, `${name} is ${gzip} B gzip`);
      assert.ok(!code.includes('\n  '), `${name} is minified`);
    }
  });

  test('scripts/build-browser.mjs builds exactly the bundles the webhead serves', () => {
    const script = readFileSync(new URL('../../scripts/build-browser.mjs', import.meta.url), 'utf8');
    const listed = /const ENTRIES = \[([^\]]*)\]/.exec(script)?.[1] ?? '';
    assert.deepEqual(
      [...listed.matchAll(/'(\w+)'/g)].map((m) => m[1]),
      [...BUNDLE_ENTRIES],
    );
  });

  test('/include.js is JavaScript carrying our origin, cached for an hour, revalidated by ETag', async () => {
    const res = await prod.app.inject({ method: 'GET', url: '/include.js' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/javascript/);
    assert.equal(res.headers['cache-control'], INCLUDE_CACHE_CONTROL);
    assert.equal(res.headers['cross-origin-resource-policy'], 'cross-origin');
    assert.ok(res.body.includes(JSON.stringify(ORIGIN)), 'the placeholder is replaced by the origin');
    assert.ok(!res.body.includes('__PERSONA_ORIGIN__'));
    const etag = String(res.headers.etag);
    const again = await prod.app.inject({
      method: 'GET',
      url: '/include.js',
      headers: { 'if-none-match': etag },
    });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
  });

  test('/sign_in is not frameable and its CSP allows exactly its inline script and style', async () => {
    const res = await prod.app.inject({ method: 'GET', url: '/sign_in' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(res.headers['cache-control'], PAGE_CACHE_CONTROL);
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    const script = /<script>([\s\S]*)<\/script>/.exec(res.body)?.[1] ?? '';
    assert.equal(script, bundles.dialog);
    const hash = createHash('sha256').update(script).digest('base64');
    assert.ok(csp.includes(`script-src 'sha256-${hash}'`), csp);
    assert.ok(!csp.includes('unsafe-inline'));
  });

  test('/communication_iframe is frameable by any site and nothing else is loosened', async () => {
    const res = await prod.app.inject({ method: 'GET', url: '/communication_iframe' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-frame-options'], undefined);
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /frame-ancestors \*/);
    assert.match(csp, /default-src 'none'/);
    assert.ok(res.body.includes(bundles.communication_iframe));
    // The default DENY is still on the other routes of the same app.
    const other = await prod.app.inject({ method: 'GET', url: '/sign_in' });
    assert.equal(other.headers['x-frame-options'], 'DENY');
  });

  test('the dialog test hook is switched on only with fake verification', async () => {
    const withHook = await dev.app.inject({ method: 'GET', url: '/sign_in' });
    const without = await prod.app.inject({ method: 'GET', url: '/sign_in' });
    assert.match(withHook.body, /<meta name="persona-test-hook"/);
    assert.doesNotMatch(without.body, /<meta name="persona-test-hook"/);
  });

  test('a failed build answers 500 and is retried on the next request', async () => {
    let calls = 0;
    const flaky = build(false, async () => {
      calls += 1;
      if (calls === 1) throw new Error('build failed');
      return bundles;
    });
    try {
      assert.equal((await flaky.app.inject({ method: 'GET', url: '/include.js' })).statusCode, 500);
      assert.equal((await flaky.app.inject({ method: 'GET', url: '/include.js' })).statusCode, 200);
      assert.equal(calls, 2);
    } finally {
      await flaky.app.close();
    }
  });
});
