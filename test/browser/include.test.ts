/**
 * include.js in a real browser: a relying party on its own origin loads our script, watches, requests, and
 * gets the dialog's assertion through the channel; forged messages from other origins change nothing.
 * Persona's side is registerStatic on a tier app (the shared app with its default X-Frame-Options DENY);
 * stack-routes.test.ts checks the same routes through the real router and webhead.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { createTierApp, type TierApp } from '../../src/http/app.ts';
import type { Runtime } from '../../src/tiers/webhead/runtime.ts';
import { registerStatic } from '../../src/tiers/webhead/static.ts';
import { PROTOCOL } from '../../src/browser/protocol.ts';
import { missing } from '../helpers/components.ts';
import { freePort } from '../helpers/stack.ts';
import { CHROMIUM, launchChromium, waitInPage, type LaunchedBrowser } from './chromium.ts';

const skip = await missing(CHROMIUM);

interface SeenEvent {
  type: string;
  assertion?: string;
  origin?: string;
}

/** The relying party: include.js in <head>, watch() at once, request() on a click; logs what it sees. */
const rpPage = (persona: string, foreign: string): string => `<!doctype html>
<html><head><meta charset="utf-8"><title>Relying party</title>
<script src="${persona}/include.js"></script>
</head><body>
<button id="signin">Sign in</button>
<script>
  window.events = [];
  const log = (event) => window.events.push(event);
  navigator.id.watch({
    loggedInUser: null,
    onlogin: (assertion) => log({ type: 'login', assertion }),
    onlogout: () => log({ type: 'logout' }),
    onready: () => log({ type: 'ready' }),
  });
  document.getElementById('signin').addEventListener('click', () =>
    navigator.id.request({ siteName: 'Example RP', oncancel: () => log({ type: 'cancel' }) }));
  // The page's own listener sees the forger's closing message, so every forged one came before it.
  window.addEventListener('message', (e) => {
    if (e.data && e.data.forgeryDone) log({ type: 'forgery-done', origin: e.origin });
  });
  window.forge = () => {
    // Same-origin forgery first: the page itself (or any script on it) is not Persona either.
    window.postMessage({ protocol: '${PROTOCOL}', type: 'assertion', assertion: 'forged-by-rp-origin' }, '*');
    const frame = document.createElement('iframe');
    frame.src = '${foreign}/forge';
    document.body.appendChild(frame);
  };
</script>
</body></html>`;

/** A foreign origin framed by the RP: posts every message Persona's windows could send. */
const forgePage = `<!doctype html><html><body><script>
  for (const m of [
    { type: 'assertion', assertion: 'forged-by-foreign-origin' },
    { type: 'logout' }, { type: 'ready' }, { type: 'hello' }, { type: 'cancel' },
  ]) parent.postMessage({ protocol: '${PROTOCOL}', ...m }, '*');
  parent.postMessage({ forgeryDone: true }, '*');
</script></body></html>`;

/** A foreign page loaded into the dialog's own window: the right window, the wrong origin. */
const forgeOpenerPage = `<!doctype html><html><body><script>
  opener.postMessage({ protocol: '${PROTOCOL}', type: 'assertion', assertion: 'forged-in-the-popup' }, '*');
  opener.postMessage({ forgeryDone: true }, '*');
</script></body></html>`;

/** A foreign origin that opens our dialog claiming to be the RP, and tries to feed it a request. */
const impostorPage = (persona: string, rp: string): string => `<!doctype html><html><body>
<button id="open">Open</button><script>
  window.received = [];
  window.addEventListener('message', (e) => window.received.push(e.origin));
  document.getElementById('open').addEventListener('click', () => {
    const popup = window.open('${persona}/sign_in#origin=' + encodeURIComponent('${rp}'), '_blank', 'popup');
    setInterval(() => popup.postMessage(
      { protocol: '${PROTOCOL}', type: 'request', options: { siteName: 'Impostor' } }, '*'), 50);
  });
</script></body></html>`;

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
}

describe('include.js in Chromium', { skip }, () => {
  let browser: LaunchedBrowser;
  let persona: TierApp;
  let personaOrigin: string;
  let rpOrigin: string;
  let foreignOrigin: string;
  const servers: Server[] = [];

  before(async () => {
    const [personaPort, rpPort, foreignPort] = await Promise.all([freePort(), freePort(), freePort()]);
    personaOrigin = `http://127.0.0.1:${personaPort}`;
    // localhost vs 127.0.0.1: the RP is another site, not only another origin.
    rpOrigin = `http://localhost:${rpPort}`;
    // Differs from Persona by the port alone: same site, another origin.
    foreignOrigin = `http://127.0.0.1:${foreignPort}`;

    persona = createTierApp({ tier: 'example', logLevel: 'silent' });
    const rt = { origin: personaOrigin, deps: { fakeVerification: true } } as unknown as Runtime;
    registerStatic(persona.app, rt);
    await persona.app.listen({ port: personaPort, host: '127.0.0.1' });

    const html = (body: string) => ({
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    const rp = createServer((req, res) => {
      const body = rpPage(personaOrigin, foreignOrigin);
      res.writeHead(req.url === '/' ? 200 : 404, html(body)).end(body);
    });
    const foreign = createServer((req, res) => {
      const body =
        req.url === '/forge'
          ? forgePage
          : req.url === '/forge-opener'
            ? forgeOpenerPage
            : impostorPage(personaOrigin, rpOrigin);
      res.writeHead(200, html(body)).end(body);
    });
    servers.push(rp, foreign);
    await Promise.all([listen(rp, rpPort), listen(foreign, foreignPort)]);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await persona?.app.close();
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  const events = (page: Page): Promise<SeenEvent[]> => page.evaluate<SeenEvent[]>('window.events');
  const waitForEvent = async (page: Page, type: string): Promise<void> => {
    await waitInPage(page, `window.events.some((e) => e.type === ${JSON.stringify(type)})`, 10_000);
  };

  async function openRp(): Promise<Page> {
    const page = await browser.context.newPage();
    await page.goto(`${rpOrigin}/`);
    await waitForEvent(page, 'ready');
    return page;
  }

  async function openDialog(page: Page): Promise<Page> {
    const [popup] = await Promise.all([browser.context.waitForEvent('page'), page.click('#signin')]);
    await waitInPage(
      popup,
      'window.personaDialogTestHook && window.personaDialogTestHook.request() !== null',
    );
    return popup;
  }

  test('watch() frames the communication iframe and calls onready', async () => {
    const page = await openRp();
    try {
      const src = await page.getAttribute('iframe', 'src');
      assert.equal(src, `${personaOrigin}/communication_iframe#origin=${encodeURIComponent(rpOrigin)}`);
      assert.deepEqual(await events(page), [{ type: 'ready' }]);
    } finally {
      await page.close();
    }
  });

  test('request() opens the dialog, which learns the real site and hands back the assertion', async () => {
    const page = await openRp();
    try {
      const popup = await openDialog(page);
      assert.ok(popup.url().startsWith(`${personaOrigin}/sign_in#`), popup.url());
      assert.deepEqual(await popup.evaluate('window.personaDialogTestHook.request()'), {
        site: rpOrigin,
        options: { siteName: 'Example RP' },
      });
      assert.equal(await popup.textContent('h1'), 'Sign in to Example RP');
      const closed = popup.waitForEvent('close');
      await popup.evaluate('window.personaDialogTestHook.complete("cert~assertion")');
      await waitForEvent(page, 'login');
      await closed;
      assert.deepEqual(await events(page), [
        { type: 'ready' },
        { type: 'login', assertion: 'cert~assertion' },
      ]);
    } finally {
      await page.close();
    }
  });

  test('messages from any origin but Persona are ignored, even mid-request', async () => {
    const page = await openRp();
    try {
      const popup = await openDialog(page);
      await page.evaluate('window.forge()');
      await waitForEvent(page, 'forgery-done');
      const seen = await events(page);
      assert.deepEqual(seen, [{ type: 'ready' }, { type: 'forgery-done', origin: foreignOrigin }]);
      // The real dialog is still heard afterwards.
      await popup.evaluate('window.personaDialogTestHook.complete("the-real-one")');
      await waitForEvent(page, 'login');
      assert.deepEqual(
        (await events(page)).filter((e) => e.type === 'login'),
        [{ type: 'login', assertion: 'the-real-one' }],
      );
    } finally {
      await page.close();
    }
  });

  test("a foreign page in the dialog's own window is not heard", async () => {
    const page = await openRp();
    try {
      const popup = await openDialog(page);
      await popup.goto(`${foreignOrigin}/forge-opener`);
      await waitForEvent(page, 'forgery-done');
      assert.deepEqual(await events(page), [
        { type: 'ready' },
        { type: 'forgery-done', origin: foreignOrigin },
      ]);
      await popup.close();
    } finally {
      await page.close();
    }
  });

  test('the dialog ignores a window whose real origin is not the one it names', async () => {
    const page = await browser.context.newPage();
    try {
      await page.goto(`${foreignOrigin}/impostor`);
      const [popup] = await Promise.all([browser.context.waitForEvent('page'), page.click('#open')]);
      await waitInPage(popup, 'window.personaDialogTestHook !== undefined');
      // The impostor posts a request every 50 ms; give it many chances.
      await popup.waitForTimeout(1000);
      assert.equal(await popup.evaluate('window.personaDialogTestHook.request()'), null);
      assert.equal(await popup.textContent('#status'), 'Waiting for the site…');
      // The dialog's hello went to the named origin only, so the impostor heard nothing.
      assert.deepEqual(await page.evaluate('window.received'), []);
      await popup.close();
    } finally {
      await page.close();
    }
  });

  test("the dialog's Cancel button calls oncancel and no login follows", async () => {
    const page = await openRp();
    try {
      const popup = await openDialog(page);
      const closed = popup.waitForEvent('close');
      await popup.click('#cancel');
      await waitForEvent(page, 'cancel');
      await closed;
      assert.deepEqual(await events(page), [{ type: 'ready' }, { type: 'cancel' }]);
    } finally {
      await page.close();
    }
  });

  test('closing the dialog window is a cancel', async () => {
    const page = await openRp();
    try {
      const popup = await openDialog(page);
      await popup.close();
      await waitForEvent(page, 'cancel');
      assert.deepEqual(await events(page), [{ type: 'ready' }, { type: 'cancel' }]);
    } finally {
      await page.close();
    }
  });

  test('logout() calls onlogout through the iframe', async () => {
    const page = await openRp();
    try {
      await page.evaluate('navigator.id.logout()');
      await waitForEvent(page, 'logout');
      assert.deepEqual(await events(page), [{ type: 'ready' }, { type: 'logout' }]);
    } finally {
      await page.close();
    }
  });

  test('a second watch() is refused', async () => {
    const page = await openRp();
    try {
      const message = await page.evaluate(`(() => {
        try { navigator.id.watch({ onlogin() {} }); return 'accepted'; } catch (e) { return e.message; }
      })()`);
      assert.match(String(message), /only once/);
    } finally {
      await page.close();
    }
  });
});
