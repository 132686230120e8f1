// The browser routes as the webhead serves them: bundles, origin, headers, caching, the test hook's gate.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTierApp, type TierApp } from '../../src/http/app.ts';
import type { Runtime } from '../../src/tiers/webhead/runtime.ts';
import {
  BUNDLE_ENTRIES,
  INCLUDE_CACHE_CONTROL,
  PAGE_CACHE_CONTROL,
  bundleSource,
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

  test('the favicon is our mark (no 404 in any console)', async () => {
    for (const url of ['/favicon.ico', '/favicon.svg']) {
      const res = await prod.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
      assert.match(String(res.headers['content-type']), /^image\/svg\+xml/);
      assert.match(res.body, /^<svg /);
    }
    const page = await prod.app.inject({ method: 'GET', url: '/' });
    assert.match(String(page.headers['content-security-policy']), /img-src 'self'/);
  });

  test('pages speak the language Accept-Language asks for, or the one ?lang= switched to', async () => {
    const de = await prod.app.inject({
      method: 'GET',
      url: '/',
      headers: { 'accept-language': 'de-DE,de;q=0.9' },
    });
    assert.match(de.body, /<html lang="de" dir="ltr">/);
    assert.match(de.body, /Ihr Persona-Konto/);
    // The script's texts ride along as data (not run: the CSP needs nothing for them).
    const text = /<script type="application\/json" id="persona-text">([^<]*)<\/script>/.exec(de.body)?.[1];
    assert.equal((JSON.parse(text ?? '{}') as Record<string, string>).signIn, 'Anmelden');
    const switched = await prod.app.inject({
      method: 'GET',
      url: '/?lang=pt-BR',
      headers: { 'accept-language': 'de' },
    });
    assert.match(switched.body, /<html lang="pt-BR"/);
    // The language switch names every language in itself, and marks the current one.
    assert.match(switched.body, /<a href="\?lang=pt-BR" hreflang="pt-BR" lang="pt-BR" aria-current="true">/);
    for (const name of ['English', 'Deutsch', 'Français', 'Español']) assert.ok(switched.body.includes(name));
    const en = await prod.app.inject({ method: 'GET', url: '/', headers: { 'accept-language': 'ja' } });
    assert.match(en.body, /<html lang="en"/);
    assert.doesNotMatch(en.body, /id="persona-text"/);
    const dialog = await prod.app.inject({
      method: 'GET',
      url: '/sign_in',
      headers: { 'accept-language': 'fr' },
    });
    assert.match(dialog.body, /<html lang="fr"/);
    assert.match(dialog.body, /Adresse e-mail/);
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

describe('where the bundles come from', () => {
  /** A scratch project root: dist-browser/ with `built` files, src/browser/ with `sources`. */
  function root(
    t: { after: (fn: () => void) => void },
    built: Record<string, string>,
    sources = false,
  ): string {
    const dir = mkdtempSync(join(tmpdir(), 'persona-bundles-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    mkdirSync(join(dir, 'dist-browser'));
    for (const [name, code] of Object.entries(built))
      writeFileSync(join(dir, 'dist-browser', `${name}.js`), code);
    mkdirSync(join(dir, 'src', 'text'), { recursive: true });
    if (sources) {
      mkdirSync(join(dir, 'src', 'browser'));
      for (const name of BUNDLE_ENTRIES)
        writeFileSync(join(dir, 'src', 'browser', `${name}.ts`), `console.log('${name} v1');\n`);
    }
    return dir;
  }

  test('production: a missing bundle stops the start, naming the file and the command that builds it', (t) => {
    const dir = root(t, { include: 'x' });
    assert.throws(() => bundleSource('prebuilt', dir), /dialog\.js.*missing.*`npm run build:browser`/);
  });

  test('production: the built files are served as they are, even beside the sources (no bundler)', async (t) => {
    const built = Object.fromEntries(BUNDLE_ENTRIES.map((name) => [name, `/* built ${name} */`]));
    const bundles = await bundleSource('prebuilt', root(t, built, true))();
    assert.deepEqual({ ...bundles }, built);
  });

  test('development: bundles the sources, and again when one changes (looked for once a second)', async (t) => {
    const dir = root(t, {}, true);
    const source = bundleSource('development', dir);
    const first = await source();
    assert.match(first.include, /include v1/);
    assert.equal(await source(), first, 'unchanged sources are not bundled again');
    await sleep(1100);
    assert.equal(await source(), first, 'unchanged sources are not bundled again (walked again)');
    const file = join(dir, 'src', 'browser', 'include.ts');
    writeFileSync(file, "console.log('include v2');\n");
    const later = new Date(Date.now() + 5_000);
    utimesSync(file, later, later);
    // Not walked again on every request: the change shows once the second is over.
    assert.equal(await source(), first, 'the sources were walked again within the second');
    await sleep(1100);
    assert.match((await source()).include, /include v2/);
  });
});
