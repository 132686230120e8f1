/**
 * Discovery through a real squid forward proxy (SPEC §1: all outbound HTTP through the egress proxy).
 * The IdP listens on port 443 of an unusual loopback address, because discovery always asks
 * https://<domain>/ on 443 and squid connects where the URL says; squid alone knows the test domains
 * (its hosts_file), so a lookup can only succeed by going through it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDiscovery } from '../../src/browserid/discovery.ts';
import { BrowserIdError } from '../../src/browserid/errors.ts';
import { generateKeypair } from '../../src/browserid/keys.ts';
import { supportDocumentFor } from '../../src/browserid/support-document.ts';
import { missing } from '../helpers/components.ts';
import { hang, makeTestPki, startIdpServer, type IdpServer, type TestPki } from '../helpers/idp-servers.ts';
import { PORT_443, SQUID, freePort, startSquid, type Squid } from '../helpers/squid.ts';

const DOMAINS = ['idp.test', 'a.test', 'slow.test', 'fast.test'];

const skip = (await missing(SQUID)) ?? (await missing(PORT_443));

let pki: TestPki;
let idp: IdpServer;
let idpAddress: string;
let deadAddress: string;
let squid: Squid;

/** An IdP on <some 127.x.y.z>:443, retrying another address if one is taken. */
async function startIdpOn443(): Promise<IdpServer> {
  for (let attempt = 0; ; attempt++) {
    const host = `127.${randomInt(100, 250)}.${randomInt(0, 256)}.${randomInt(1, 250)}`;
    try {
      return await startIdpServer(pki, { host, port: 443 });
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
}

before(async () => {
  if (skip) return;
  pki = makeTestPki([...DOMAINS, 'dead.test']);
  idp = await startIdpOn443();
  idpAddress = idp.host;
  deadAddress = idpAddress.replace(/\.\d+$/, (last) => `.${Number(last.slice(1)) + 1}`); // nothing listens there
  squid = await startSquid({
    ...Object.fromEntries(DOMAINS.map((d) => [d, idpAddress])),
    'dead.test': deadAddress,
  });
  const keys = generateKeypair('DS128');
  const doc = supportDocumentFor(keys.publicKey, { authentication: '/auth', provisioning: '/prov' });
  idp.serve('idp.test', doc);
  idp.serve('fast.test', doc);
  idp.serve('a.test', { authority: 'idp.test' });
  idp.on('slow.test', hang);
});

after(async () => {
  if (skip) return;
  await squid.stop();
  await idp.close();
  pki.remove();
});

const escape = (s: string) => s.replace(/[.]/g, '\\.');
const tunnelTo = (domain: string) =>
  new RegExp(`TCP_TUNNEL/200 \\d+ CONNECT ${escape(domain)}:443 .*HIER_DIRECT/${escape(idpAddress)}`);

test('discovery follows a delegation through squid, one CONNECT tunnel per domain', { skip }, async () => {
  const discovery = createDiscovery({ proxyUrl: squid.url, ca: pki.ca });
  const result = await discovery.discover('a.test');
  assert.ok(result.kind === 'supported');
  assert.deepEqual(result.delegationChain, ['a.test', 'idp.test']);
  assert.equal(result.authentication, 'https://idp.test/auth');
  assert.equal(idp.hits('a.test'), 1);
  assert.equal(idp.hits('idp.test'), 1);
  // squid logs a tunnel when it closes: closing the client closes them.
  await discovery.close();
  const log = await squid.waitForLog(tunnelTo('idp.test'));
  assert.match(log, tunnelTo('a.test'));
});

test('through squid, one slow domain does not hold up lookups of others', { skip }, async () => {
  const discovery = createDiscovery({ proxyUrl: squid.url, ca: pki.ca, timeoutMs: 1500 });
  try {
    let slowSettled = false;
    const slow = discovery.discover('slow.test').finally(() => {
      slowSettled = true;
    });
    slow.catch(() => undefined);
    await sleep(100); // the slow request is in its tunnel
    const started = performance.now();
    assert.equal((await discovery.discover('fast.test')).kind, 'supported');
    const fastMs = performance.now() - started;
    assert.ok(fastMs < 700, `fast lookup took ${fastMs} ms`);
    assert.equal(slowSettled, false, 'the slow lookup is still pending');
    await assert.rejects(slow, (err: unknown) => {
      assert.ok(err instanceof BrowserIdError);
      assert.equal(err.message, 'timeout trying to load well-known for slow.test');
      return true;
    });
  } finally {
    await discovery.close();
  }
  await squid.waitForLog(tunnelTo('fast.test'));
  await squid.waitForLog(tunnelTo('slow.test'));
});

test('an IdP squid cannot reach, or no squid at all, is a clean failure', { skip }, async () => {
  const errors: string[] = [];
  const discovery = createDiscovery({
    proxyUrl: squid.url,
    ca: pki.ca,
    timeoutMs: 3000,
    onFetch: (f) => errors.push(f.error ?? ''),
  });
  // Callers get the original's words, never the proxy's or the socket's (SPEC §4.14); logs get the cause.
  await assert.rejects(discovery.discover('dead.test'), (err: unknown) => {
    assert.ok(err instanceof BrowserIdError);
    assert.equal(err.code, 'discovery-failed');
    assert.equal(err.message, 'dead.test is not a browserid primary');
    return true;
  });
  assert.match(errors.join('\n'), /Proxy response \(503\)/);
  await discovery.close();
  await squid.waitForLog(/CONNECT dead\.test:443/);

  const noProxy = createDiscovery({ proxyUrl: `http://127.0.0.1:${await freePort()}`, ca: pki.ca });
  await assert.rejects(
    noProxy.discover('idp.test'),
    /^BrowserIdError: idp\.test is not a browserid primary$/,
  );
  await noProxy.close();
});
