/**
 * A busy Persona, as a person and a site meet it (issue 10 item 7): a proxy in front of the real stack
 * answers 503 with Retry-After (as load shedding does) to the first N requests of chosen paths.
 *  - include.js loads the communication iframe again after a 503, and logout() reaches onlogout;
 *  - with the iframe refused every time, the site's onerror says why and logout still reaches onlogout;
 *  - the dialog retries a 503 by itself with backoff; when Persona stays busy it offers "Try again",
 *    which carries on once Persona answers.
 */
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { missing } from '../helpers/components.ts';
import { freePort, startStack, type Stack } from '../helpers/stack.ts';
import { CHROMIUM, launchChromium, type LaunchedBrowser } from './chromium.ts';

const skip = await missing(CHROMIUM);
const WAIT = { timeout: 30_000 };

interface BusyProxy {
  readonly origin: string;
  /** Answer 503 to the next `count` requests whose path starts with `path`. */
  refuse(path: string, count: number): void;
  /** How many requests each refused path got, refused or not. */
  seen(path: string): number;
  close(): Promise<void>;
}

/** Forwards to the stack; include.js is told Persona lives at the proxy, so everything comes through it. */
async function startBusyProxy(target: string): Promise<BusyProxy> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const upstream = new URL(target);
  const refusals = new Map<string, number>();
  const counts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    for (const [prefix, left] of refusals) {
      if (!path.startsWith(prefix)) continue;
      counts.set(prefix, (counts.get(prefix) ?? 0) + 1);
      if (left > 0) {
        refusals.set(prefix, left - 1);
        req.resume();
        res.writeHead(503, { 'retry-after': '1', 'content-type': 'text/plain' }).end('server is too busy');
        return;
      }
    }
    const forwarded = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path,
        headers: { ...req.headers, host: upstream.host },
      },
      (answer) => {
        if (path.startsWith('/include.js')) {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8').split(target).join(origin);
            res.writeHead(200, { 'content-type': 'application/javascript' }).end(body);
          });
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', () => res.writeHead(502).end());
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    origin,
    refuse: (path, count) => {
      refusals.set(path, count);
      counts.set(path, 0);
    },
    seen: (path) => counts.get(path) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A site whose page records what include.js tells it. */
async function startSite(persona: string): Promise<{ origin: string; close(): Promise<void> }> {
  const port = await freePort();
  const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Busy RP</title>
<script src="${persona}/include.js"></script></head><body>
<button id="signin">Sign in</button><button id="logout">Log out</button>
<script>
  window.events = [];
  navigator.id.watch({
    loggedInUser: 'someone@example.com',
    onlogin: (assertion) => events.push('login'),
    onlogout: () => events.push('logout'),
    onready: () => events.push('ready'),
    onerror: (reason) => events.push('error: ' + reason),
  });
  document.getElementById('signin').addEventListener('click', () => navigator.id.request({ siteName: 'Busy RP' }));
  document.getElementById('logout').addEventListener('click', () => navigator.id.logout());
</script></body></html>`;
  const server = createServer((req, res) => {
    res
      .writeHead(req.url === '/' ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' })
      .end(req.url === '/' ? page : '');
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    origin: `http://localhost:${port}`,
    // Chromium keeps its connections open: close them, or close() waits minutes for them.
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const events = (page: Page): Promise<string[]> => page.evaluate<string[]>('window.events');

async function waitForEvent(page: Page, wanted: (e: string) => boolean): Promise<string[]> {
  const deadline = Date.now() + WAIT.timeout;
  for (;;) {
    const seen = await events(page);
    if (seen.some(wanted)) return seen;
    if (Date.now() > deadline) throw new Error(`no such event; saw ${JSON.stringify(seen)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('a busy Persona (503 with Retry-After)', { skip }, () => {
  let stack: Stack;
  let proxy: BusyProxy;
  let browser: LaunchedBrowser;

  before(async () => {
    stack = await startStack({ env: { PERSONA_LOG_LEVEL: 'error' } });
    proxy = await startBusyProxy(stack.base);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await proxy?.close();
    await stack?.stop();
  });

  test('include.js loads a refused communication iframe again; logout reaches onlogout', async () => {
    const site = await startSite(proxy.origin);
    try {
      proxy.refuse('/communication_iframe', 2);
      const page = await browser.context.newPage();
      await page.goto(`${site.origin}/`);
      await waitForEvent(page, (e) => e === 'ready');
      assert.equal(proxy.seen('/communication_iframe'), 3, 'two refusals, then the iframe');
      await page.click('#logout');
      assert.deepEqual(await waitForEvent(page, (e) => e === 'logout'), ['ready', 'logout']);
      await page.close();
    } finally {
      await site.close();
    }
  });

  test('an iframe refused every time: onerror says why, and logout still reaches onlogout', async () => {
    const site = await startSite(proxy.origin);
    try {
      proxy.refuse('/communication_iframe', 1000);
      const page = await browser.context.newPage();
      await page.goto(`${site.origin}/`);
      // logout() before the iframe gave up: it waits, then is delivered without it.
      await page.click('#logout');
      const seen = await waitForEvent(page, (e) => e === 'logout');
      assert.ok(
        seen.some((e) => /^error: persona: the communication iframe could not be loaded/.test(e)),
        JSON.stringify(seen),
      );
      assert.equal(proxy.seen('/communication_iframe'), 5, 'the first load and four more');
      await page.close();
    } finally {
      proxy.refuse('/communication_iframe', 0);
      await site.close();
    }
  });

  test('the dialog retries a 503 by itself, then offers "Try again", which carries on', async () => {
    const site = await startSite(proxy.origin);
    try {
      const page = await browser.context.newPage();
      await page.goto(`${site.origin}/`);
      await waitForEvent(page, (e) => e === 'ready');
      // Two refusals of the first call: the dialog's own retries absorb them, the person sees nothing.
      proxy.refuse('/wsapi/session_context', 2);
      const [popup] = await Promise.all([browser.context.waitForEvent('page'), page.click('#signin')]);
      await popup.getByLabel('Email address').waitFor({ state: 'visible', ...WAIT });
      assert.equal(proxy.seen('/wsapi/session_context'), 3);
      assert.equal(await popup.locator('#error').textContent(), '');

      // Busy for longer than the retries: a message and "Try again", not a dead end.
      proxy.refuse('/wsapi/address_info', 1000);
      await popup.getByLabel('Email address').fill('newcomer@example.com');
      await popup.getByRole('button', { name: 'Next', exact: true }).click();
      // While the retries wait, progress shows, but only after 300 ms (a quick answer never flashes it).
      const progress = popup.locator('.progress');
      assert.equal(await progress.isVisible(), false, 'no progress at once');
      await progress.waitFor({ state: 'visible', timeout: 2000 });
      assert.equal(await progress.textContent(), 'Working…');
      await popup.getByRole('alert').filter({ hasText: 'Persona is busy right now' }).waitFor(WAIT);
      assert.equal(await progress.isVisible(), false, 'no progress once it is over');
      const tryAgain = popup.getByRole('button', { name: 'Try again', exact: true });
      assert.equal(await tryAgain.isVisible(), true);
      assert.equal(proxy.seen('/wsapi/address_info'), 4, 'the call and three retries');
      assert.equal(await popup.evaluate('document.activeElement && document.activeElement.id'), 'retry');

      proxy.refuse('/wsapi/address_info', 0);
      await tryAgain.click();
      await popup.getByLabel('Choose a password').waitFor({ state: 'visible', ...WAIT });
      assert.equal(await tryAgain.isVisible(), false);
      assert.equal(await popup.locator('#error').textContent(), '');
      await popup.close();
      await page.close();
    } finally {
      await site.close();
    }
  });
});
