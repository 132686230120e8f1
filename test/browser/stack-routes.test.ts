/**
 * The browser routes through the real stack (router → webhead as processes): the headers survive the
 * router's relay, include.js names the public URL, and a site page on another origin gets onready.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { missing } from '../helpers/components.ts';
import { freePort, startStack, type Stack } from '../helpers/stack.ts';
import { CHROMIUM, launchChromium, waitInPage } from './chromium.ts';

const get = async (url: string) => {
  const res = await request(url);
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
};

describe('browser routes through the stack', () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.stop();
  });

  test('include.js carries the public origin', async () => {
    const res = await get(`${stack.base}/include.js`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /javascript/);
    assert.ok(res.text.includes(JSON.stringify(new URL(stack.base).origin)));
  });

  test('the iframe stays frameable after the router, the dialog does not, and no test hook', async () => {
    const iframe = await get(`${stack.base}/communication_iframe`);
    assert.equal(iframe.status, 200);
    assert.equal(iframe.headers['x-frame-options'], undefined);
    assert.match(String(iframe.headers['content-security-policy']), /frame-ancestors \*/);
    const dialog = await get(`${stack.base}/sign_in`);
    assert.equal(dialog.status, 200);
    assert.equal(dialog.headers['x-frame-options'], 'DENY');
    // Fake verification is off in this stack, so the development hook is too.
    assert.doesNotMatch(dialog.text, /<meta name="persona-test-hook"/);
  });

  test('a site on another origin gets onready and onlogout from the real stack', async (t) => {
    const skip = await missing(CHROMIUM);
    if (skip !== undefined) {
      t.skip(skip);
      return;
    }
    const port = await freePort();
    const body = `<!doctype html><html><head><script src="${stack.base}/include.js"></script></head><body><script>
      window.events = [];
      navigator.id.watch({ onlogin() {}, onready: () => events.push('ready'), onlogout: () => events.push('logout') });
    </script></body></html>`;
    const site: Server = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end(body),
    );
    await new Promise<void>((resolve) => site.listen(port, '127.0.0.1', resolve));
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      await page.goto(`http://localhost:${port}/`);
      await waitInPage(page, 'window.events.includes("ready")', 10_000);
      await page.evaluate('navigator.id.logout()');
      await waitInPage(page, 'window.events.includes("logout")', 10_000);
      assert.deepEqual(await page.evaluate('window.events'), ['ready', 'logout']);
    } finally {
      await browser.close();
      await new Promise((resolve) => site.close(resolve));
    }
  });
});
