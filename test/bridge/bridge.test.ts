/**
 * The bridge over HTTP (docs/bridge.md), the whole stack as processes with oidc-provider as the outside
 * provider: a sign-in proven by the provider gets a short certificate from the bridge's signer that the
 * stack's /verify and browserid-local-verify accept; an unverified address, a tampered state or nonce and a
 * replayed callback are refused; another address back leads to a mailed code (wrong codes refused, five
 * tries per ten minutes); the kill switch sends the domain back to the fallback IdP; a provider that is
 * down or never answers gives a clean page in bounded time. The dialog in Chromium: bridge-browser.test.ts.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { browser as wsapiBrowser } from '../helpers/browser.ts';
import { jwcrypto, localVerify } from '../helpers/jwcrypto.ts';
import { RP, verifyRemotely } from '../helpers/flows.ts';
import {
  BRIDGE_ISSUER,
  DOMAIN,
  DOWN,
  HANGING,
  jar,
  loginAtProvider,
  startBed,
  type Bed,
  type Jar,
} from './harness.ts';

let bed: Bed;
before(async () => {
  bed = await startBed();
});
after(async () => {
  await bed?.close();
});

/** The bridge's /oidc/start for `email`: the provider's authorization URL it sends the browser to. */
async function start(b: Jar, email: string): Promise<string> {
  const hop = await b.get(`${bed.bridge}/oidc/start?email=${encodeURIComponent(email)}`);
  assert.equal(hop.status, 303, hop.text.slice(0, 500));
  const location = hop.location ?? '';
  assert.ok(location.startsWith(bed.provider.issuer), location);
  return location;
}

async function signIn(email: string, login = email) {
  const b = jar();
  const callback = await loginAtProvider(b, await start(b, email), login);
  const back = await b.get(callback);
  return { b, back };
}

const whoami = async (b: Jar) =>
  JSON.parse((await b.get(`${bed.bridge}/api/whoami`)).text).email as string | null;

async function certify(b: Jar, email: string) {
  const keys = await jwcrypto.generateKeypair('RS256');
  const res = await request(`${bed.bridge}/api/cert_key`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      origin: bed.bridge,
      cookie: [...b.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
    },
    body: JSON.stringify({ email, pubkey: keys.publicKey.serialize() }),
  });
  return { status: res.statusCode, json: (await res.body.json()) as { cert?: string; error?: string }, keys };
}

const payloadOf = (jws: string) => JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString());

describe('the bridge', () => {
  test('Persona delegates the bridged domain: address_info names the bridge, its support document publishes its key', async () => {
    const info = await wsapiBrowser(bed.stack.base).get('/wsapi/address_info', { email: `ann@${DOMAIN}` });
    assert.equal(info.status, 200, info.text);
    const json = info.json();
    assert.equal(json.type, 'primary');
    assert.equal(json.issuer, BRIDGE_ISSUER);
    assert.equal(json.auth, `${bed.bridge}/authenticate`);
    assert.equal(json.prov, `${bed.bridge}/provision`);
    const own = (await (
      await request(`${bed.stack.base}/.well-known/browserid?domain=${DOMAIN}`)
    ).body.json()) as object;
    assert.deepEqual(own, { authority: BRIDGE_ISSUER });
  });

  test('the provider proves the typed address: a 5-minute certificate from the signer, /verify and local-verify agree', async () => {
    const typed = `Ann@${DOMAIN}`;
    // The provider canonicalises to lower case; the person typed a capital: same mailbox, their spelling.
    const { b, back } = await signIn(typed, `ann@${DOMAIN}`);
    assert.equal(back.status, 303, back.text.slice(0, 400));
    assert.equal(back.location, `${bed.bridge}/authenticate/done`);
    assert.equal(await whoami(b), typed);
    const { status, json, keys } = await certify(b, typed);
    assert.equal(status, 200, JSON.stringify(json));
    const cert = json.cert ?? '';
    const payload = payloadOf(cert);
    assert.equal(payload.iss, BRIDGE_ISSUER);
    assert.deepEqual(payload.principal, { email: typed });
    assert.equal(payload.exp - payload.iat, 5 * 60_000);

    const assertion = await jwcrypto.assert(
      { audience: RP, expiresAt: Date.now() + 120_000 },
      keys.secretKey,
    );
    const backed = jwcrypto.bundle([cert], assertion);
    const verdict = await verifyRemotely(bed.stack.base, backed);
    assert.equal(verdict.status, 'okay', JSON.stringify(verdict));
    assert.equal(verdict.issuer, BRIDGE_ISSUER);
    assert.equal(verdict.email, typed);

    // Mozilla's verifier, given what Persona and the bridge publish, agrees.
    const bridgeDoc = await (await request(`${bed.bridge}/.well-known/browserid`)).body.json();
    const delegation = await (
      await request(`${bed.stack.base}/.well-known/browserid?domain=${DOMAIN}`)
    ).body.json();
    const theirs = await localVerify.verify({
      assertion: backed,
      audience: RP,
      documents: { [BRIDGE_ISSUER]: bridgeDoc, [DOMAIN]: delegation },
    });
    assert.equal(theirs.email, typed);
    assert.equal(theirs.issuer, BRIDGE_ISSUER);

    // Only the address proven: another one of the domain gets nothing.
    assert.equal((await certify(b, `bob@${DOMAIN}`)).status, 401);
  });

  test('an address the provider has not verified is refused, and nothing is signed in', async () => {
    const email = `unverified-ann@${DOMAIN}`;
    const { b, back } = await signIn(email);
    assert.equal(back.status, 403);
    assert.match(back.text, /has not verified this address/);
    assert.equal(await whoami(b), null);
    assert.equal((await certify(b, email)).status, 401);
  });

  test('a tampered state, a tampered nonce and a replayed callback are refused', async () => {
    const email = `cam@${DOMAIN}`;
    const b1 = jar();
    const callback = new URL(await loginAtProvider(b1, await start(b1, email), email));
    callback.searchParams.set('state', `${callback.searchParams.get('state')}x`);
    const tamperedState = await b1.get(callback.href);
    assert.equal(tamperedState.status, 400);
    assert.match(tamperedState.text, /could not be checked/);
    assert.equal(await whoami(b1), null);

    const b2 = jar();
    const authorization = new URL(await start(b2, email));
    authorization.searchParams.set('nonce', 'a-nonce-of-the-attacker-s-choosing');
    const back = await b2.get(await loginAtProvider(b2, authorization.href, email));
    assert.equal(back.status, 400);
    assert.match(back.text, /could not be checked/);
    assert.equal(await whoami(b2), null);

    const b3 = jar();
    const good = await loginAtProvider(b3, await start(b3, email), email);
    assert.equal((await b3.get(good)).status, 303);
    const replay = jar();
    const replayed = await replay.get(good);
    assert.equal(replayed.status, 400);
    assert.match(replayed.text, /expired/);
    assert.equal(await whoami(replay), null);
  });

  test('another address back: a mailed code proves the typed one (wrong codes refused); never the alias', async () => {
    const typed = `dee@${DOMAIN}`;
    const alias = `dee.smith@${DOMAIN}`;
    const { b, back } = await signIn(typed, alias);
    assert.equal(back.status, 200, back.text.slice(0, 300));
    assert.match(back.text, /Check your mail/);
    assert.equal(await whoami(b), null);
    const mail = await bed.smtp.waitFor(typed);
    const code = /Your code: (\d{6})/.exec(String(mail.text))?.[1] ?? '';
    assert.match(code, /^\d{6}$/);
    const wrong = code === '000000' ? '111111' : '000000';
    const refused = await b.post(`${bed.bridge}/code`, { code: wrong });
    assert.equal(refused.status, 400);
    assert.match(refused.text, /not right/);
    assert.equal(await whoami(b), null);
    const accepted = await b.post(`${bed.bridge}/code`, { code });
    assert.equal(accepted.status, 303, accepted.text.slice(0, 300));
    assert.equal(await whoami(b), typed);
    assert.equal((await certify(b, alias)).status, 401);
    assert.equal((await certify(b, typed)).status, 200);
    // The code is spent: the cookie that held it is gone.
    assert.equal((await b.post(`${bed.bridge}/code`, { code })).status, 400);
  });

  test('five tries per ten minutes: the sixth is refused even with the right code', async () => {
    const typed = `eve@${DOMAIN}`;
    const { b } = await signIn(typed, `eve.other@${DOMAIN}`);
    const code = /Your code: (\d{6})/.exec(String((await bed.smtp.waitFor(typed)).text))?.[1] ?? '';
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++)
      assert.equal((await b.post(`${bed.bridge}/code`, { code: wrong })).status, 400);
    const sixth = await b.post(`${bed.bridge}/code`, { code });
    assert.equal(sixth.status, 429);
    assert.match(sixth.text, /Too many tries/);
    assert.equal(await whoami(b), null);
  });

  test('the alias code op answers only the bridge: not through the router, not unsigned', async () => {
    const body = JSON.stringify({ email: `x@${DOMAIN}`, code: '123456', provider: DOMAIN });
    const headers = { 'content-type': 'application/json' };
    const routed = await request(`${bed.stack.base}/wsapi/send_alias_code`, {
      method: 'POST',
      headers,
      body,
    });
    assert.equal(routed.statusCode, 400);
    assert.match(await routed.body.text(), /no such api/);
    const direct = await request(`http://127.0.0.1:${bed.stack.config.dbwriterPort}/wsapi/send_alias_code`, {
      method: 'POST',
      headers,
      body,
    });
    assert.equal(direct.statusCode, 403);
    await direct.body.dump();
    assert.equal(bed.smtp.messages.filter((m) => String(m.subject).includes('123456')).length, 0);
  });

  test('a provider that is down or never answers: a clean page, in bounded time', async () => {
    for (const domain of [DOWN, HANGING]) {
      const began = Date.now();
      const hop = await jar().get(`${bed.bridge}/oidc/start?email=${encodeURIComponent(`ann@${domain}`)}`);
      assert.equal(hop.status, 503, `${domain}: ${hop.text.slice(0, 300)}`);
      assert.match(hop.text, /is not answering/);
      assert.match(hop.text, /Back to Persona/);
      assert.ok(Date.now() - began < 20_000, `${domain} took ${Date.now() - began} ms`);
    }
  });

  test('the kill switch: the domain goes back to the fallback IdP, and the bridge stops certifying it', async () => {
    const { b } = await signIn(`fay@${DOMAIN}`);
    assert.equal(await whoami(b), `fay@${DOMAIN}`);
    writeFileSync(bed.killSwitchFile, `# provider outage\n${DOMAIN}\n`);
    try {
      assert.equal((await certify(b, `fay@${DOMAIN}`)).status, 409);
      assert.equal((await jar().get(`${bed.bridge}/oidc/start?email=gus%40${DOMAIN}`)).status, 409);
      const doc = await (await request(`${bed.bridge}/.well-known/browserid?domain=${DOMAIN}`)).body.json();
      assert.deepEqual(doc, { disabled: true });
      // Persona sees it once its cache of the support document turns (10 s, 2 s here): a secondary address now.
      const deadline = Date.now() + 30_000;
      let type: unknown;
      while (Date.now() < deadline) {
        type = (
          await wsapiBrowser(bed.stack.base).get('/wsapi/address_info', { email: `gus@${DOMAIN}` })
        ).json().type;
        if (type === 'secondary') break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      assert.equal(type, 'secondary');
    } finally {
      rmSync(bed.killSwitchFile, { force: true });
    }
    assert.equal((await certify(b, `fay@${DOMAIN}`)).status, 200);
  });
});
