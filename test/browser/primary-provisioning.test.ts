/**
 * dialog-primary.ts and the two IdP shims in Chromium, without the stack: a harness page on "Persona's"
 * origin (127.0.0.1) runs signInWithPrimary with a recording UI, and a stand-in IdP on another origin
 * (localhost) serves provisioning pages that behave well, fail, stay silent, certify the wrong address, or
 * are joined by a forger frame. The IdP's certificates are real (src/browserid), and the assertions the
 * dialog makes are verified with verifyBackedAssertion.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import {
  certifyPublicKey,
  generateKeypair,
  parsePublicKey,
  verifyBackedAssertion,
  type Keypair,
} from '../../src/browserid/index.ts';
import { missing } from '../helpers/components.ts';
import { freePort } from '../helpers/stack.ts';
import { CHROMIUM, launchChromium, waitInPage, type LaunchedBrowser } from './chromium.ts';

const skip = await missing(CHROMIUM);
const BROWSER_SOURCES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'browser');
const ISSUER = 'idp.test';
const RP = 'http://rp.example';

async function bundle(contents: string): Promise<string> {
  const result = await build({
    stdin: { contents, resolveDir: BROWSER_SOURCES, loader: 'ts' },
    bundle: true,
    format: 'iife',
    target: ['es2020'],
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]?.text ?? '';
}

// The harness: signInWithPrimary with a UI that records every call, and a context whose clock is local.
const HARNESS = `
import { signInWithPrimary } from './dialog-primary.ts';
import { translator } from '../text/i18n.ts';
import { dialogMessages } from '../text/messages/dialog.ts';
const log = [];
const primary = document.getElementById('screen-primary');
const ui = {
  t: translator(dialogMessages, 'en'),
  say: (text) => log.push(['say', text]),
  complain: (text) => log.push(['complain', text]),
  show: (screen) => { log.push(['show', screen]); primary.hidden = screen !== 'primary'; },
  frames: document.getElementById('frames'),
};
window.run = (address, ephemeral) => {
  let finished = null;
  return signInWithPrimary(address, {
    ui,
    audience: ${JSON.stringify(RP)},
    context: async () => ({ csrf: 'token', serverNow: () => Date.now() }),
    ephemeral,
    finish: (backed) => { finished = backed; },
    saveForReturn: (email) => log.push(['save', email]),
  }).then(
    () => ({ log, finished, frames: ui.frames.children.length }),
    (err) => ({ log, finished, error: String(err), frames: ui.frames.children.length }),
  );
};
`;

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });

type Logged = [string, string][];
interface RunResult {
  log: Logged;
  finished: string | null;
  error?: string;
  frames: number;
}

const payloadOf = (jws: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8'));

describe('signInWithPrimary and the IdP shims', { skip }, () => {
  let persona: Server;
  let idp: Server;
  let personaOrigin: string;
  let idpOrigin: string;
  let browser: LaunchedBrowser;
  let idpKey: Keypair;
  /** What the stand-in IdP saw asked of it, and what our stand-in wsapi received. */
  const durations: number[] = [];
  const authCalls: Record<string, unknown>[] = [];
  let authAnswer: Record<string, unknown> = { success: true };

  // A provisioning page: the shim from "Persona", then the IdP's behaviour for `mode`.
  const provisioningPage = (mode: string): string => `<!doctype html><meta charset="utf-8">
<script src="${personaOrigin}/provisioning_api.js"></script>
<script>
  const id = navigator.id;
  const mode = ${JSON.stringify(mode)};
  if (mode === 'probe') id.beginProvisioning((email, duration) => { window.got = [email, duration]; });
  else if (mode === 'fail') id.beginProvisioning(() => id.raiseProvisioningFailure('user is not authenticated as target user'));
  else if (mode !== 'silent') id.beginProvisioning((email, duration) => id.genKeyPair((pubkey) =>
    fetch('/certify', { method: 'POST', body: JSON.stringify({
      pubkey, duration, email: mode === 'wrong' ? 'mallory@${ISSUER}' : email }) })
      .then((r) => r.text()).then((cert) => id.registerCertificate(cert))));
</script>`;

  // A page of the IdP's origin that is NOT the provisioning frame, posting forged outcomes to the dialog.
  const FORGER = `<!doctype html><script>
  setInterval(() => {
    parent.postMessage({ protocol: 'persona-provisioning/1', type: 'failure', reason: 'forged' }, '*');
    parent.postMessage({ protocol: 'persona-provisioning/1', type: 'registerCertificate', cert: 'a.b.c' }, '*');
  }, 20);
</script>`;

  const authenticationPage = `<!doctype html><meta charset="utf-8">
<script src="PERSONA/authentication_api.js"></script>
<p id="email"></p><button id="done">Done</button><button id="cancel">Cancel</button>
<script>
  navigator.id.beginAuthentication((email) => { document.getElementById('email').textContent = email; });
  document.getElementById('done').onclick = () => navigator.id.completeAuthentication();
  document.getElementById('cancel').onclick = () => navigator.id.raiseAuthenticationFailure('no');
</script>`;

  before(async () => {
    idpKey = generateKeypair('RS256');
    const [harness, provisioningApi, authenticationApi] = await Promise.all([
      bundle(HARNESS),
      bundle(`import './provisioning_api.ts';`),
      bundle(`import './authentication_api.ts';`),
    ]);
    const [personaPort, idpPort] = [await freePort(), await freePort()];
    personaOrigin = `http://127.0.0.1:${personaPort}`;
    idpOrigin = `http://localhost:${idpPort}`;
    const shim = (code: string) => code.split('__PERSONA_ORIGIN__').join(personaOrigin);

    persona = createServer((req, res) => {
      const url = req.url ?? '/';
      if (url === '/harness') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html>
<meta charset="utf-8"><title>harness</title>
<form id="screen-primary" hidden><button id="primary-go" type="submit">Next</button></form>
<div id="frames"></div>
<iframe id="forger" hidden></iframe>
<script src="/harness.js"></script>`);
      } else if (url === '/harness.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(harness);
      } else if (url === '/provisioning_api.js' || url === '/authentication_api.js') {
        res
          .writeHead(200, { 'content-type': 'text/javascript' })
          .end(shim(url === '/provisioning_api.js' ? provisioningApi : authenticationApi));
      } else if (url === '/wsapi/auth_with_assertion' && req.method === 'POST') {
        void readBody(req).then((body) => {
          authCalls.push(JSON.parse(body));
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(authAnswer));
        });
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
      }
    });
    idp = createServer((req, res) => {
      const url = new URL(req.url ?? '/', idpOrigin);
      if (url.pathname === '/certify' && req.method === 'POST') {
        void readBody(req).then((text) => {
          const body = JSON.parse(text);
          durations.push(body.duration);
          const now = Date.now();
          const cert = certifyPublicKey(
            {
              issuer: ISSUER,
              publicKey: parsePublicKey(body.pubkey),
              principal: { email: body.email },
              issuedAt: now,
              expiresAt: now + body.duration * 1000,
            },
            idpKey.secretKey,
          );
          res.writeHead(200, { 'content-type': 'text/plain' }).end(cert);
        });
      } else if (url.pathname.startsWith('/prov/')) {
        res
          .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
          .end(provisioningPage(url.pathname.slice('/prov/'.length)));
      } else if (url.pathname === '/forger') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(FORGER);
      } else if (url.pathname === '/auth') {
        res
          .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
          .end(authenticationPage.replace('PERSONA', personaOrigin));
      } else {
        res.writeHead(404).end();
      }
    });
    await Promise.all([
      new Promise<void>((resolve) => persona.listen(personaPort, '127.0.0.1', resolve)),
      new Promise<void>((resolve) => idp.listen(idpPort, '127.0.0.1', resolve)),
    ]);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    for (const server of [persona, idp]) await new Promise((resolve) => server.close(resolve));
  });

  const address = (mode: string) => ({
    email: `alice@${ISSUER}`,
    issuer: ISSUER,
    auth: `${idpOrigin}/auth`,
    prov: `${idpOrigin}/prov/${mode}`,
  });

  async function harness(): Promise<Page> {
    const page = await browser.context.newPage();
    await page.goto(`${personaOrigin}/harness`);
    return page;
  }

  const run = (page: Page, mode: string, ephemeral = false): Promise<RunResult> =>
    page.evaluate<RunResult>(`window.run(${JSON.stringify(address(mode))}, ${String(ephemeral)})`);

  async function verify(backed: string, audience: string) {
    return verifyBackedAssertion(backed, {
      audience,
      directory: {
        publicKeyOf: async (issuer) => {
          if (issuer !== ISSUER) throw new Error(`unknown issuer ${issuer}`);
          return idpKey.publicKey;
        },
        authorityOf: async (domain) => (domain === ISSUER ? ISSUER : null),
      },
    });
  }

  test('provisioned: a session at Persona first, then an assertion for the site, both verifiable', async () => {
    const page = await harness();
    try {
      authCalls.length = 0;
      const result = await run(page, 'good');
      assert.equal(result.error, undefined);
      assert.ok(result.finished, JSON.stringify(result.log));
      assert.equal(result.frames, 0, 'the provisioning frame is removed');
      assert.deepEqual(result.log.slice(0, 3), [
        ['complain', ''],
        ['say', `Asking ${ISSUER} about alice@${ISSUER}…`],
        ['show', 'wait'],
      ]);
      assert.equal(durations.at(-1), 6 * 60 * 60);
      // auth_with_assertion: our CSRF token, not ephemeral, an assertion whose audience is Persona.
      assert.equal(authCalls.length, 1);
      assert.equal(authCalls[0]?.csrf, 'token');
      assert.equal(authCalls[0]?.ephemeral, false);
      const forPersona = await verify(String(authCalls[0]?.assertion), personaOrigin);
      assert.equal(forPersona.email, `alice@${ISSUER}`);
      const forSite = await verify(result.finished, RP);
      assert.equal(forSite.email, `alice@${ISSUER}`);
      assert.equal(forSite.issuer, ISSUER);
      const exp = Number(payloadOf(result.finished.split('~')[1] ?? '').exp);
      assert.ok(Math.abs(exp - (Date.now() + 120_000)) < 10_000, `exp ${exp}`);
    } finally {
      await page.close();
    }
  });

  test('ephemeral: the IdP is asked for a 1 h certificate and auth_with_assertion is told', async () => {
    const page = await harness();
    try {
      authCalls.length = 0;
      const result = await run(page, 'good', true);
      assert.ok(result.finished);
      assert.equal(durations.at(-1), 60 * 60);
      assert.equal(authCalls[0]?.ephemeral, true);
    } finally {
      await page.close();
    }
  });

  test('Persona refusing the certificate is shown, and nothing goes to the site', async () => {
    const page = await harness();
    try {
      authAnswer = { success: false, reason: 'issuer may not speak for this domain' };
      const result = await run(page, 'good');
      assert.equal(result.finished, null);
      assert.deepEqual(result.log.slice(-2), [
        [
          'complain',
          `Persona could not accept the certificate ${ISSUER} gave for alice@${ISSUER}: issuer may not speak for this domain`,
        ],
        ['show', 'email'],
      ]);
    } finally {
      authAnswer = { success: true };
      await page.close();
    }
  });

  test('a certificate for another address is not used', async () => {
    const page = await harness();
    try {
      authCalls.length = 0;
      const result = await run(page, 'wrong');
      assert.equal(result.finished, null);
      assert.equal(authCalls.length, 0);
      assert.deepEqual(result.log.at(-2), [
        'complain',
        `${ISSUER} sent a certificate that is not for alice@${ISSUER} and this window’s key, so it was not used.`,
      ]);
    } finally {
      await page.close();
    }
  });

  test('a forger frame of the IdP’s origin is not heard: only the provisioning frame speaks', async () => {
    const page = await harness();
    try {
      await page.evaluate(`document.getElementById('forger').src = ${JSON.stringify(`${idpOrigin}/forger`)}`);
      await page.waitForTimeout(200);
      const result = await run(page, 'good');
      assert.ok(result.finished, JSON.stringify(result.log));
      assert.ok(!result.log.some(([, text]) => text.includes('forged')));
    } finally {
      await page.close();
    }
  });

  test('a provisioning page that never asks is reported unreachable', async () => {
    const page = await harness();
    try {
      const started = Date.now();
      const result = await run(page, 'silent');
      assert.ok(Date.now() - started < 12_000, 'the load grace, not the whole timeout');
      assert.deepEqual(result.log.slice(-2), [
        ['complain', `${ISSUER} did not answer in time. Try again later.`],
        ['show', 'email'],
      ]);
      assert.equal(result.frames, 0);
    } finally {
      await page.close();
    }
  });

  test('not signed in at the IdP: the primary screen, then its page with the address, and back', async () => {
    const page = await harness();
    try {
      const result = await run(page, 'fail');
      assert.equal(result.finished, null);
      assert.deepEqual(result.log.slice(-2), [
        ['say', `Sign in with ${ISSUER} to use alice@${ISSUER}. You will come back here afterwards.`],
        ['show', 'primary'],
      ]);
      const go = page.getByRole('button', { name: `Continue to ${ISSUER}` });
      assert.equal(await go.isVisible(), true);
      assert.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'primary-go');
      await go.click();
      await page.waitForURL(`${idpOrigin}/auth?**`);
      assert.equal(new URL(page.url()).searchParams.get('email'), `alice@${ISSUER}`);
      assert.equal(await page.textContent('#email'), `alice@${ISSUER}`);
      // The IdP's page reloads without the query: the address is still handed over.
      await page.goto(`${idpOrigin}/auth`);
      assert.equal(await page.textContent('#email'), `alice@${ISSUER}`);
      await page.click('#done');
      await page.waitForURL(`${personaOrigin}/sign_in?AUTH_RETURN`);
      // A cancel goes to the other return URL.
      await page.goto(`${idpOrigin}/auth?email=alice%40${ISSUER}`);
      await page.click('#cancel');
      await page.waitForURL(`${personaOrigin}/sign_in?AUTH_RETURN_CANCEL`);
    } finally {
      await page.close();
    }
  });

  test('the provisioning shim hears only its parent, and only from Persona’s origin', async () => {
    const page = await harness();
    try {
      const identity = {
        protocol: 'persona-provisioning/1',
        type: 'identity',
        email: `alice@${ISSUER}`,
        certDuration: 60,
      };
      // The probe frame, and a sibling frame of Persona's own origin.
      await page.evaluate(`Promise.all(${JSON.stringify([`${idpOrigin}/prov/probe`, `${personaOrigin}/nothing`])}
        .map((src, i) => new Promise((resolve) => {
          const frame = document.createElement('iframe');
          frame.id = 'frame-' + i;
          frame.onload = resolve;
          frame.src = src;
          document.body.append(frame);
        })))`);
      const probe = page.frames().find((frame) => frame.url().endsWith('/prov/probe'));
      assert.ok(probe);
      const got = () => probe.evaluate('window.got || null');
      // From the IdP's page itself (its own origin), and from a sibling of Persona's origin: ignored.
      await probe.evaluate(`window.postMessage(${JSON.stringify(identity)}, '*')`);
      // The function runs in the sibling's realm, so the sibling is the message's source.
      await page.evaluate(`new (document.getElementById('frame-1').contentWindow.Function)(
        'm', 'parent.frames[parent.frames.length - 2].postMessage(m, "*")')(${JSON.stringify(identity)})`);
      await page.waitForTimeout(300);
      assert.equal(await got(), null);
      // From the parent, Persona's origin: heard.
      await page.evaluate(
        `document.getElementById('frame-0').contentWindow.postMessage(${JSON.stringify(identity)}, ${JSON.stringify(idpOrigin)})`,
      );
      await waitInPage(probe, 'window.got !== undefined');
      assert.deepEqual(await got(), [`alice@${ISSUER}`, 60]);
    } finally {
      await page.close();
    }
  });

  test('the shims define navigator.id once, and it cannot be replaced', async () => {
    const page = await browser.context.newPage();
    try {
      await page.goto(`${idpOrigin}/prov/silent`);
      const state = await page.evaluate(`(() => {
        'use strict';
        const id = navigator.id;
        try { navigator.id = {}; } catch { /* a TypeError in strict mode; either way it stays */ }
        return { same: navigator.id === id, names: Object.keys(id).sort(), frozen: Object.isFrozen(id) };
      })()`);
      assert.deepEqual(state, {
        same: true,
        names: ['beginProvisioning', 'genKeyPair', 'raiseProvisioningFailure', 'registerCertificate'],
        frozen: true,
      });
    } finally {
      await page.close();
    }
  });
});
