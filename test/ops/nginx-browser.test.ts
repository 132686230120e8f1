/**
 * The full browser journey over https through a real nginx (issue 13) straight to the tier pools
 * (PERSONA_EDGE_LISTENERS: nginx calls the webhead, dbwriter and verifier over mutual TLS, no router):
 * Chromium on a relying party's page (http://localhost, another site) opens the dialog from the https
 * edge, makes an account, follows the mail's link, and signs in again with the password; the site's
 * server has /verify check each assertion through the edge. The edge's certificate comes from a throwaway
 * CA; Chromium trusts exactly that leaf (its SPKI hash), and nginx's access log shows the browser's and
 * the site's requests went through it, each to its tier's edge listener.
 */
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { getGlobalDispatcher, setGlobalDispatcher, type Dispatcher } from 'undici';
import { nginxConfig } from '../../src/ops/nginx.ts';
import { deploymentOf, edgeListenersOf, type Tier } from '../../src/topology/index.ts';
import { CHROMIUM, launchChromium, type LaunchedBrowser } from '../browser/chromium.ts';
import { startTestRp, type TestRp } from '../browser/test-rp.ts';
import { missing } from '../helpers/components.ts';
import { makeTestPki, type TestPki } from '../helpers/idp-servers.ts';
import { edgeAgent, NGINX, nginxPrefix, startNginx, type Nginx } from '../helpers/nginx.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp.ts';
import { freePort, startStack, type Stack } from '../helpers/stack.ts';

// Both are named when both are missing.
const [noNginx, noChromium] = [await missing(NGINX), await missing(CHROMIUM)];
const skip = noNginx ?? noChromium;

const HOST = 'persona.test';
const EMAIL = 'edge.browser@example.com';
const PASSWORD = 'edge password 1';
/** The relying party's server calls /verify from this address; Chromium connects from 127.0.0.1. */
const SITE_SERVER = '127.0.0.9';
const WAIT = { timeout: 20_000 };

/** base64 of the SHA-256 of a certificate's SubjectPublicKeyInfo: what Chromium's SPKI list takes. */
const spkiHash = (pem: string): string =>
  createHash('sha256')
    .update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64');

interface LogLine {
  client: string;
  method: string;
  path: string;
  status: number;
  protocol: string;
  tls: string;
  user_agent: string;
  upstream: string;
}

describe('the browser journey over https through nginx', { skip }, () => {
  let pki: TestPki;
  let smtp: SmtpSink;
  let stack: Stack;
  let nginx: Nginx;
  let rp: TestRp;
  let chromium: LaunchedBrowser;
  let base: string;
  let previousDispatcher: Dispatcher;
  /** Every URL Chromium asked for. */
  const requested: string[] = [];

  before(async () => {
    pki = makeTestPki([HOST]);
    const [httpsPort, httpPort] = [await freePort(), await freePort()];
    base = `https://${HOST}:${httpsPort}`;
    smtp = await startSmtpSink();
    stack = await startStack({
      env: {
        PERSONA_SMTP_URL: smtp.url,
        PERSONA_PUBLIC_URL: base,
        PERSONA_TRUSTED_PROXIES: '127.0.0.1',
        PERSONA_EDGE_LISTENERS: 'true',
        PERSONA_EDGE_TLS_CERT: join(pki.dir, 'server.crt'),
        PERSONA_EDGE_TLS_KEY: join(pki.dir, 'server.key'),
      },
    });
    const dir = nginxPrefix();
    nginx = await startNginx(
      dir,
      nginxConfig(stack.config, {
        stateDir: dir,
        logDir: dir,
        httpPort,
        listen: '127.0.0.1',
        workers: 1,
        foreground: true,
      }),
      httpsPort,
    );
    // The site's server reaches persona.test (no DNS name here) on loopback, trusting the test CA only.
    previousDispatcher = getGlobalDispatcher();
    setGlobalDispatcher(edgeAgent(pki.ca, SITE_SERVER));
    rp = await startTestRp(base);
    chromium = await launchChromium([
      `--host-resolver-rules=MAP ${HOST} 127.0.0.1`,
      // Trust this one leaf key, not every certificate.
      `--ignore-certificate-errors-spki-list=${spkiHash(readFileSync(join(pki.dir, 'server.crt'), 'utf8'))}`,
    ]);
    chromium.context.on('request', (req) => requested.push(req.url()));
  });

  after(async () => {
    await chromium?.close();
    await rp?.close();
    if (previousDispatcher) setGlobalDispatcher(previousDispatcher);
    await nginx?.stop();
    await stack?.stop();
    await smtp?.close();
    pki?.remove();
  });

  async function openDialog(): Promise<{ page: Page; popup: Page }> {
    const page = await chromium.context.newPage();
    await page.goto(`${rp.origin}/`);
    const [popup] = await Promise.all([chromium.context.waitForEvent('page'), page.click('#signin')]);
    await popup.waitForSelector('#email', { state: 'visible', ...WAIT });
    assert.ok(popup.url().startsWith(`${base}/`), `the dialog loads from the https edge: ${popup.url()}`);
    return { page, popup };
  }

  async function enterEmail(popup: Page): Promise<void> {
    await popup.getByLabel('Email address').fill(EMAIL);
    await popup.getByRole('button', { name: 'Next' }).click();
  }

  /** The site shows the address, and its server's /verify answered okay for the https issuer and this site. */
  async function siteSignedIn(page: Page, verdicts: number): Promise<void> {
    await page.waitForSelector('#result[data-status]', WAIT);
    assert.equal(
      await page.getAttribute('#result', 'data-status'),
      'okay',
      (await page.textContent('#result')) ?? '',
    );
    assert.equal(await page.textContent('#result'), EMAIL);
    assert.equal(rp.verdicts.length, verdicts);
    const verdict = rp.verdicts.at(-1);
    assert.equal(verdict?.status, 'okay');
    assert.equal(verdict?.email, EMAIL);
    assert.equal(verdict?.issuer, HOST);
    assert.equal(verdict?.audience, rp.origin);
  }

  test('sign up in the dialog, follow the mail link in the browser: the site is signed in', async () => {
    const { page, popup } = await openDialog();
    await enterEmail(popup);
    await popup
      .getByRole('status')
      .filter({ hasText: `Create a Persona account for ${EMAIL}` })
      .waitFor(WAIT);
    await popup.getByLabel('Choose a password').fill(PASSWORD);
    await popup.getByLabel('Type it again').fill(PASSWORD);
    await popup.getByRole('button', { name: 'Create account' }).click();
    await popup
      .getByRole('status')
      .filter({ hasText: `We sent an email to ${EMAIL}` })
      .waitFor(WAIT);

    const mail = await smtp.waitFor(EMAIL, 15_000);
    const link = String(mail.headers.get('x-browserid-verificationurl'));
    assert.ok(link.startsWith(`${base}/`), `the mail's link is on the https edge: ${link}`);
    const landing = await chromium.context.newPage();
    const closed = popup.waitForEvent('close', WAIT);
    const opened = await landing.goto(link);
    assert.equal(opened?.status(), 200);
    await closed;
    await siteSignedIn(page, 1);
    // Persona's session cookie came over https: Secure.
    const session = (await chromium.context.cookies()).filter((c) => c.domain === HOST);
    assert.ok(session.length > 0, 'a session cookie for the edge');
    assert.ok(
      session.every((c) => c.secure && c.httpOnly),
      JSON.stringify(session),
    );
    await landing.close();
    await page.close();
  });

  test('sign in again on a browser signed out of Persona: address, password, /verify okay', async () => {
    await chromium.context.clearCookies();
    const { page, popup } = await openDialog();
    await enterEmail(popup);
    const password = popup.getByLabel('Password', { exact: true });
    await password.waitFor({ state: 'visible', ...WAIT });
    await password.fill(PASSWORD);
    const closed = popup.waitForEvent('close', WAIT);
    await popup.getByRole('button', { name: 'Sign in' }).click();
    await closed;
    await siteSignedIn(page, 2);
    await page.close();
  });

  test('without the leaf in the SPKI list, Chromium refuses the edge: the trust is that one key', async () => {
    const plain = await launchChromium([`--host-resolver-rules=MAP ${HOST} 127.0.0.1`]);
    try {
      const page = await plain.context.newPage();
      await assert.rejects(page.goto(`${base}/sign_in`), /ERR_CERT_AUTHORITY_INVALID/);
    } finally {
      await plain.close();
    }
  });

  test("every one of Persona's requests went over https through nginx, as its access log shows", async () => {
    const persona = requested.filter((url) => new URL(url).hostname === HOST);
    assert.ok(persona.length > 0);
    assert.deepEqual(
      persona.filter((url) => !url.startsWith(`${base}/`)),
      [],
      'nothing to Persona but over https to the edge',
    );
    // nginx writes a line just after its answer leaves.
    const has = (text: string) => nginx.accessLog().includes(text);
    for (let i = 0; i < 80 && !has('"path":"/verify"'); i++) await sleep(25);
    const lines = nginx
      .accessLog()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as LogLine);
    const fromChromium = lines.filter((l) => l.client === '127.0.0.1' && l.user_agent.includes('Chrome/'));
    const seen = (method: string, path: string, from: LogLine[] = fromChromium) =>
      from.some((l) => l.method === method && l.path === path && l.status === 200);
    for (const [method, path] of [
      ['GET', '/include.js'],
      ['GET', '/sign_in'],
      ['GET', '/wsapi/session_context'],
      ['POST', '/wsapi/stage_user'],
      ['GET', '/verify_email_address'],
      ['POST', '/wsapi/authenticate_user'],
      ['POST', '/wsapi/cert_key'],
    ] as const)
      assert.ok(seen(method, path), `${method} ${path} from Chromium in nginx's log`);
    assert.ok(
      fromChromium.every((l) => l.protocol === 'HTTP/2.0' && /^TLSv1\.[23]$/.test(l.tls)),
      'Chromium spoke HTTP/2 over TLS 1.2+',
    );
    // The site's server checked both assertions at /verify through the edge, from its own address.
    const verifies = lines.filter((l) => l.path === '/verify');
    assert.equal(verifies.length, 2, JSON.stringify(verifies));
    assert.ok(verifies.every((l) => l.method === 'POST' && l.status === 200 && l.client === SITE_SERVER));
    assert.ok(!nginx.accessLog().includes('token='), 'the emailed token is not in the access log');
    // No router on the way: each request went to its own tier's edge listener, as the router would send it.
    const listeners = (tier: Tier) =>
      edgeListenersOf(deploymentOf(stack.config), tier).map((i) => `127.0.0.1:${i.port}`);
    const answeredBy = (tier: Tier, method: string, path: string) =>
      lines.filter((l) => l.method === method && l.path === path && l.status === 200).length > 0 &&
      lines
        .filter((l) => l.method === method && l.path === path)
        .every((l) => listeners(tier).includes(l.upstream));
    for (const [tier, method, path] of [
      ['verifier', 'POST', '/verify'],
      ['dbwriter', 'POST', '/wsapi/stage_user'],
      ['webhead', 'POST', '/wsapi/authenticate_user'],
      ['webhead', 'POST', '/wsapi/cert_key'],
      ['webhead', 'GET', '/sign_in'],
      ['webhead', 'GET', '/verify_email_address'],
    ] as const)
      assert.ok(answeredBy(tier, method, path), `${method} ${path} answered by the ${tier} pool`);
  });
});
