/**
 * The example site's page in Chromium: its script drives navigator.id and the site's API as a person would
 * see it. Persona is a stand-in here (an include.js that hands over a preset assertion, and a /verify that
 * accepts only "good" for the site's origin), so this suite checks the page; site.test.ts checks the real
 * verifier path.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import { buildExampleSite, type ExampleSite } from '../../src/example/site.ts';
import { missing } from '../helpers/components.ts';
import { freePort } from '../helpers/stack.ts';
import { CHROMIUM, launchChromium, type LaunchedBrowser } from '../browser/chromium.ts';

const skip = await missing(CHROMIUM);

// Records what the page asks of navigator.id; request() signs in with window.nextAssertion (default "good").
const FAKE_INCLUDE_JS = `(function () {
  var watched;
  window.seen = { requests: [], logouts: 0 };
  navigator.id = {
    watch: function (options) { watched = options; window.seen.loggedInUser = options.loggedInUser; },
    request: function (options) {
      window.seen.requests.push(options);
      watched.onlogin(window.nextAssertion || 'good');
    },
    logout: function () { window.seen.logouts += 1; watched.onlogout(); }
  };
})();`;

function fakePersona(siteOrigin: () => string): Server {
  return createServer((req, res) => {
    if (req.url === '/include.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(FAKE_INCLUDE_JS);
      return;
    }
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      const ok =
        req.url === '/verify' && form.get('assertion') === 'good' && form.get('audience') === siteOrigin();
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify(
          ok
            ? {
                status: 'okay',
                email: 'alice@example.com',
                audience: siteOrigin(),
                expires: 0,
                issuer: 'x',
              }
            : { status: 'failure', reason: 'audience mismatch: domain mismatch' },
        ),
      );
    });
  });
}

describe('the example site in Chromium', { skip }, () => {
  let persona: Server;
  let site: ExampleSite;
  let unreachable: ExampleSite;
  let browser: LaunchedBrowser;
  let page: Page;

  before(async () => {
    const [personaPort, sitePort, otherPort, closedPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const logger = pino({ level: 'silent' });
    site = buildExampleSite({
      personaUrl: `http://127.0.0.1:${personaPort}`,
      origin: `http://127.0.0.1:${sitePort}`,
      logger,
    });
    persona = fakePersona(() => site.origin);
    await new Promise<void>((resolve) => persona.listen(personaPort, '127.0.0.1', resolve));
    await site.app.listen({ host: '127.0.0.1', port: sitePort });
    unreachable = buildExampleSite({
      personaUrl: `http://127.0.0.1:${closedPort}`,
      origin: `http://127.0.0.1:${otherPort}`,
      logger,
    });
    await unreachable.app.listen({ host: '127.0.0.1', port: otherPort });
    browser = await launchChromium();
    page = await browser.context.newPage();
  });
  after(async () => {
    await browser.close();
    await site.app.close();
    await unreachable.app.close();
    await new Promise((resolve) => persona.close(resolve));
  });

  const status = () => page.getByRole('status');
  const who = () => page.locator('#who');

  test('sign in, stay signed in across a reload, sign out', async () => {
    await page.goto(`${site.origin}/`);
    assert.equal(await who().textContent(), 'Not signed in.');
    assert.equal(await page.evaluate('window.seen.loggedInUser'), null);

    await page.getByRole('button', { name: 'Sign in with your email' }).click();
    await page.getByText('Signed in as alice@example.com.', { exact: true }).first().waitFor();
    assert.equal(await status().textContent(), 'Signed in as alice@example.com.');
    assert.equal(await page.getByRole('button', { name: 'Sign in with your email' }).isVisible(), false);
    const requests = await page.evaluate('window.seen.requests');
    assert.deepEqual(requests, [{ siteName: 'Persona example site', backgroundColor: '#8a3b12' }]);
    const [cookie] = await browser.context.cookies(site.origin);
    assert.equal(cookie?.name, 'example_site_session');
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.sameSite, 'Lax');
    assert.equal(await page.evaluate('document.cookie'), '', 'the page script cannot read it');

    await page.reload();
    assert.equal(await who().textContent(), 'Signed in as alice@example.com.');
    assert.equal(await page.evaluate('window.seen.loggedInUser'), 'alice@example.com');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('Signed out.', { exact: true }).waitFor();
    assert.equal(await who().textContent(), 'Not signed in.');
    assert.deepEqual(await browser.context.cookies(site.origin), []);
  });

  test('a refused assertion is announced, and Persona is told to forget it', async () => {
    await page.goto(`${site.origin}/`);
    await page.evaluate("window.nextAssertion = 'bad'");
    await page.getByRole('button', { name: 'Sign in with your email' }).click();
    await page.getByText(/^Sign-in failed:/).waitFor();
    assert.equal(
      await status().textContent(),
      'Sign-in failed: Persona did not accept the sign-in: audience mismatch: domain mismatch',
    );
    assert.equal(await page.evaluate('window.seen.logouts'), 1);
    assert.equal(await who().textContent(), 'Not signed in.');
  });

  test('without include.js the page says signing in is not possible', async () => {
    await page.goto(`${unreachable.origin}/`);
    await page.getByText(/Persona could not be loaded/).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Sign in with your email' }).isDisabled(), true);
  });
});
