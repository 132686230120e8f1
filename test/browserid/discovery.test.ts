import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Agent } from 'undici';
import { bundle, createAssertion } from '../../src/browserid/assertion.ts';
import { certifyPublicKey } from '../../src/browserid/certificate.ts';
import {
  cacheLifetimeMs,
  createDiscovery,
  DISCOVERY_DEFAULTS,
  type DiscoveryFetch,
  type DiscoveryOptions,
} from '../../src/browserid/discovery.ts';
import { BrowserIdError } from '../../src/browserid/errors.ts';
import { generateKeypair, type Keypair } from '../../src/browserid/keys.ts';
import { MAX_SUPPORT_DOCUMENT_BYTES, supportDocumentFor } from '../../src/browserid/support-document.ts';
import { checkBackedAssertion } from '../../src/browserid/verify.ts';
import {
  hang,
  json,
  loopbackAgent,
  makeTestPki,
  startIdpServer,
  startSilentServer,
  type IdpServer,
  type TestPki,
} from '../helpers/idp-servers.ts';

const DOMAINS = [
  'idp.test',
  'other.test',
  'principal.test',
  'a.test',
  'b.test',
  'c.test',
  'loop1.test',
  'loop2.test',
  'self.test',
  ...Array.from({ length: 8 }, (_, i) => `h${i}.test`),
  'disabled.test',
  'todisabled.test',
  'slow.test',
  'fast.test',
  'silent.test',
  'stall.test',
  'status404.test',
  'status500.test',
  'html.test',
  'notype.test',
  'badjson.test',
  'notutf8.test',
  'big.test',
  'bigchunked.test',
  'exact.test',
  'redirect.test',
  'maxage.test',
  'aged.test',
  'forever.test',
  'nostore.test',
  'nocache.test',
  'private.test',
  'noheader.test',
  'flaky.test',
  'flight.test',
  'lru1.test',
  'lru2.test',
  'lru3.test',
  'hop1.test',
  'hop2.test',
  'nowhere.test',
  'email.test',
];

let pki: TestPki;
let server: IdpServer;
let silent: { port: number; close(): Promise<void> };
let agent: Agent;
let idpKeys: Keypair;
let otherKeys: Keypair;

before(async () => {
  pki = makeTestPki(DOMAINS);
  server = await startIdpServer(pki);
  silent = await startSilentServer();
  agent = loopbackAgent(pki.ca, (hostname) => {
    if (hostname === 'silent.test') return { port: silent.port };
    return DOMAINS.includes(hostname) ? { port: server.port } : undefined;
  });
  idpKeys = generateKeypair('DS128');
  otherKeys = generateKeypair('DS128');
});

after(async () => {
  await silent.close(); // first: its half-open handshakes would hold the agent's close
  await agent.close();
  await server.close();
  pki.remove();
});

const paths = { authentication: '/sign_in', provisioning: '/provision' };
const supportedDoc = (keys: Keypair = idpKeys) => supportDocumentFor(keys.publicKey, paths);

/** A discovery over the test agent with a clock the test moves. */
function setup(options: Partial<DiscoveryOptions> = {}) {
  const clock = { t: 1_700_000_000_000 };
  const discovery = createDiscovery({ dispatcher: agent, now: () => clock.t, ...options });
  return { discovery, clock };
}

async function rejection(promise: Promise<unknown>): Promise<BrowserIdError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof BrowserIdError, `expected a BrowserIdError, got ${String(err)}`);
    return err;
  }
  return assert.fail('expected a rejection');
}

// ---- documents and delegation ------------------------------------------------------------------------

test('a supported document gives the key and absolute URLs on the domain', async () => {
  server.serve('idp.test', supportedDoc());
  const { discovery } = setup();
  const result = await discovery.discover('IDP.test');
  assert.equal(result.kind, 'supported');
  assert.ok(result.kind === 'supported');
  assert.deepEqual(result.publicKey.json, idpKeys.publicKey.json);
  assert.equal(result.authentication, 'https://idp.test/sign_in');
  assert.equal(result.provisioning, 'https://idp.test/provision');
  assert.equal(result.authoritativeDomain, 'idp.test');
  assert.deepEqual(result.delegationChain, ['idp.test']);

  const seen = server.requests.at(-1);
  assert.equal(seen?.url, '/.well-known/browserid?domain=idp.test');
  assert.equal(seen?.headers.accept, 'application/json');
  assert.deepEqual((await discovery.publicKeyOf('idp.test')).json, idpKeys.publicKey.json);
  assert.equal(await discovery.authorityOf('idp.test'), 'idp.test');
});

test('the principal domain is sent as ?domain= on every hop', async () => {
  server.serve('other.test', { authority: 'idp.test' });
  server.serve('idp.test', supportedDoc());
  const { discovery } = setup();
  const before = server.requests.length;
  await discovery.discover('other.test', 'principal.test');
  assert.deepEqual(
    server.requests.slice(before).map((r) => `${r.domain}${r.url}`),
    [
      'other.test/.well-known/browserid?domain=principal.test',
      'idp.test/.well-known/browserid?domain=principal.test',
    ],
  );
});

test('delegation is followed through a chain of three domains', async () => {
  server.serve('a.test', { authority: 'b.test' });
  server.serve('b.test', { authority: 'C.test' });
  server.serve('c.test', supportedDoc(otherKeys));
  const { discovery } = setup();
  const result = await discovery.discover('a.test');
  assert.ok(result.kind === 'supported');
  assert.deepEqual(result.delegationChain, ['a.test', 'b.test', 'c.test']);
  assert.equal(result.authoritativeDomain, 'c.test');
  assert.equal(result.authentication, 'https://c.test/sign_in');
  assert.equal(result.provisioning, 'https://c.test/provision');
  assert.deepEqual(result.publicKey.json, otherKeys.publicKey.json);
  assert.equal(await discovery.authorityOf('a.test'), 'c.test');
  assert.deepEqual((await discovery.publicKeyOf('a.test')).json, otherKeys.publicKey.json);
});

test('a delegation loop is refused with the original message', async () => {
  server.serve('loop1.test', { authority: 'loop2.test' });
  server.serve('loop2.test', { authority: 'loop1.test' });
  server.serve('self.test', { authority: 'self.test' });
  const { discovery } = setup();
  const err = await rejection(discovery.discover('loop1.test'));
  assert.equal(err.code, 'delegation-loop');
  assert.equal(err.message, 'Circular reference in delegating authority: loop1.test > loop2.test');
  const self = await rejection(discovery.discover('self.test'));
  assert.equal(self.message, 'Circular reference in delegating authority: self.test');
  await assert.rejects(discovery.authorityOf('loop2.test'), /Circular reference/);
});

test('a chain of six domains is followed, a seventh domain is too many hops', async () => {
  for (let i = 0; i < 7; i++) server.serve(`h${i}.test`, { authority: `h${i + 1}.test` });
  server.serve('h7.test', supportedDoc());
  const { discovery } = setup();
  const six = await discovery.discover('h2.test');
  assert.ok(six.kind === 'supported');
  assert.equal(six.delegationChain.length, 6);
  assert.equal(six.authoritativeDomain, 'h7.test');
  await assert.rejects(discovery.discover('h1.test'), /Too many hops/);

  const fresh = setup().discovery;
  const h7Before = server.hits('h7.test');
  const err = await rejection(fresh.discover('h0.test'));
  assert.equal(err.code, 'too-many-hops');
  assert.equal(
    err.message,
    'Too many hops while delegating authority: h0.test > h1.test > h2.test > h3.test > h4.test > h5.test > h6.test',
  );
  assert.equal(server.hits('h7.test'), h7Before, 'the domain past the limit is never asked');
});

test('a disabled domain, directly or at the end of a delegation', async () => {
  server.serve('disabled.test', { disabled: true, authority: 'idp.test' });
  server.serve('todisabled.test', { authority: 'disabled.test' });
  const { discovery } = setup();
  assert.deepEqual(await discovery.discover('disabled.test'), {
    kind: 'disabled',
    delegationChain: ['disabled.test'],
  });
  assert.deepEqual(await discovery.discover('todisabled.test'), {
    kind: 'disabled',
    delegationChain: ['todisabled.test', 'disabled.test'],
  });
  assert.equal(await discovery.authorityOf('disabled.test'), null);
  const err = await rejection(discovery.publicKeyOf('disabled.test'));
  assert.equal(err.code, 'no-public-key');
  assert.match(err.message, /disabled for disabled\.test/);
});

test('the verifier wraps a discovery failure as "can\'t get public key for X: why"', async () => {
  server.on('nowhere.test', json('gone', {}, 404));
  server.serve('email.test', supportedDoc());
  const { discovery } = setup();
  const user = generateKeypair('DS128');
  const now = Date.now();
  const assertion = createAssertion(
    { audience: 'https://rp.example', expiresAt: now + 60_000 },
    user.secretKey,
  );
  const certFrom = (issuer: string) =>
    certifyPublicKey(
      {
        issuer,
        publicKey: user.publicKey,
        principal: { email: 'someone@email.test' },
        issuedAt: now,
        expiresAt: now + 60_000,
      },
      idpKeys.secretKey,
    );
  const options = { audience: 'https://rp.example', directory: discovery };

  const failed = await checkBackedAssertion(bundle([certFrom('nowhere.test')], assertion), options);
  assert.deepEqual(failed, {
    ok: false,
    code: 'no-public-key',
    reason:
      "can't get public key for nowhere.test: nowhere.test is not a browserid primary - non-200 response code to /.well-known/browserid",
  });
  const ok = await checkBackedAssertion(bundle([certFrom('email.test')], assertion), options);
  assert.equal(ok.ok, true);
  assert.ok(ok.ok && ok.email === 'someone@email.test' && ok.issuer === 'email.test');
});

// ---- what the fetch refuses --------------------------------------------------------------------------

test('names that are not hostnames are refused before any request', async () => {
  const { discovery } = setup();
  const before = server.requests.length;
  for (const [domain, principal] of [
    ['', undefined],
    ['not a domain', undefined],
    ['idp.test:8443', undefined],
    ['idp.test/evil', undefined],
    ['idp.test', 'x/../y'],
    ['idp.test', 'p.test?x=1'],
  ] as const) {
    const err = await rejection(discovery.discover(domain, principal));
    assert.equal(err.code, 'discovery-failed');
    assert.match(err.message, /^invalid domain: /);
  }
  assert.equal(server.requests.length, before);
});

test('a server that never answers times out after timeoutMs', async () => {
  server.on('slow.test', hang);
  const { discovery } = setup({ timeoutMs: 300 });
  const started = performance.now();
  const err = await rejection(discovery.discover('slow.test'));
  const elapsed = performance.now() - started;
  assert.equal(err.code, 'discovery-failed');
  assert.equal(err.message, 'timeout trying to load well-known for slow.test');
  assert.ok(elapsed >= 280 && elapsed < 2000, `took ${elapsed} ms`);
});

test('the timeout covers a TLS handshake that never completes and a body that stalls', async () => {
  server.on('stall.test', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"authority":'); // and nothing more
  });
  const { discovery } = setup({ timeoutMs: 300 });
  for (const domain of ['silent.test', 'stall.test']) {
    const started = performance.now();
    const err = await rejection(discovery.discover(domain));
    const elapsed = performance.now() - started;
    assert.equal(err.message, `timeout trying to load well-known for ${domain}`);
    assert.ok(elapsed >= 280 && elapsed < 2000, `${domain} took ${elapsed} ms`);
  }
});

test('one slow domain does not hold up lookups of others', async () => {
  server.on('slow.test', hang);
  server.serve('fast.test', supportedDoc());
  const { discovery } = setup({ timeoutMs: 1500 });
  let slowSettled = false;
  const slow = rejection(discovery.discover('slow.test')).finally(() => {
    slowSettled = true;
  });
  await sleep(50); // the slow request is on the wire
  const started = performance.now();
  const fast = await discovery.discover('fast.test');
  const fastMs = performance.now() - started;
  assert.equal(fast.kind, 'supported');
  assert.ok(fastMs < 500, `fast lookup took ${fastMs} ms`);
  assert.equal(slowSettled, false, 'the slow lookup is still pending');
  const err = await slow;
  assert.match(err.message, /^timeout trying to load well-known for slow\.test$/);
});

test('answers other than 200 are refused', async () => {
  server.on('status404.test', json(supportedDoc(), {}, 404));
  server.on('status500.test', json({ error: 'oops' }, {}, 500));
  const { discovery } = setup();
  for (const domain of ['status404.test', 'status500.test']) {
    const err = await rejection(discovery.discover(domain));
    assert.equal(err.code, 'discovery-failed');
    assert.equal(
      err.message,
      `${domain} is not a browserid primary - non-200 response code to /.well-known/browserid`,
    );
  }
});

test('a content type other than application/json is refused', async () => {
  server.on('html.test', json(supportedDoc(), { 'content-type': 'text/html' }));
  server.on('notype.test', (_req, res) => {
    res.writeHead(200);
    res.end(JSON.stringify(supportedDoc()));
  });
  const { discovery } = setup();
  for (const domain of ['html.test', 'notype.test']) {
    const err = await rejection(discovery.discover(domain));
    assert.equal(err.code, 'discovery-failed');
    assert.equal(
      err.message,
      `${domain} is not a browserid primary - non "application/json" response to /.well-known/browserid`,
    );
  }
  server.on('html.test', json(supportedDoc(), { 'content-type': 'Application/JSON; charset=utf-8' }));
  assert.equal((await setup().discovery.discover('html.test')).kind, 'supported');
});

test('invalid JSON and invalid UTF-8 are malformed documents', async () => {
  server.on('badjson.test', json('{"authority": '));
  server.on('notutf8.test', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
  });
  const { discovery } = setup();
  const err = await rejection(discovery.discover('badjson.test'));
  assert.equal(err.code, 'malformed-support-document');
  assert.equal(
    err.message,
    "bad support document for 'badjson.test': malformed support document: invalid JSON",
  );
  const utf = await rejection(discovery.discover('notutf8.test'));
  assert.equal(utf.message, "bad support document for 'notutf8.test': not UTF-8");
});

test(`bodies over ${MAX_SUPPORT_DOCUMENT_BYTES} bytes are refused, with or without Content-Length`, async () => {
  const doc = JSON.stringify(supportedDoc());
  const padded = (bytes: number) => doc + ' '.repeat(bytes - Buffer.byteLength(doc));
  server.on('big.test', json(padded(MAX_SUPPORT_DOCUMENT_BYTES + 1)));
  let chunksSent = 0;
  server.on('bigchunked.test', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }); // chunked: no Content-Length
    res.write('{"authority":"idp.test"');
    const more = () => {
      // Keeps writing far past the cap; the client must stop reading.
      if (chunksSent++ < 64 && !res.destroyed) res.write(' '.repeat(16 * 1024), () => setImmediate(more));
      else res.end('}');
    };
    more();
  });
  server.on('exact.test', json(padded(MAX_SUPPORT_DOCUMENT_BYTES)));
  const { discovery } = setup();
  for (const domain of ['big.test', 'bigchunked.test']) {
    const err = await rejection(discovery.discover(domain));
    assert.equal(err.code, 'discovery-failed');
    assert.equal(
      err.message,
      `${domain} is not a browserid primary - support document larger than 65536 bytes`,
    );
  }
  assert.ok(chunksSent < 64, `the client read ${chunksSent} chunks`);
  assert.equal((await discovery.discover('exact.test')).kind, 'supported', 'exactly the cap is fine');
});

test('redirects are not followed', async () => {
  server.serve('idp.test', supportedDoc());
  server.on('redirect.test', (_req, res) => {
    res.writeHead(302, { location: 'https://idp.test/.well-known/browserid?domain=redirect.test' });
    res.end();
  });
  const { discovery } = setup();
  const idpHits = server.hits('idp.test');
  const err = await rejection(discovery.discover('redirect.test'));
  assert.equal(err.code, 'discovery-failed');
  assert.equal(
    err.message,
    'redirect.test is not a browserid primary - redirection not supported for support documents',
  );
  assert.equal(server.hits('idp.test'), idpHits, 'the redirect target was never asked');
});

// ---- caching -----------------------------------------------------------------------------------------

test('Cache-Control max-age is honoured', async () => {
  server.serve('maxage.test', supportedDoc(), { 'cache-control': 'public, max-age=60' });
  const { discovery, clock } = setup();
  const hits = () => server.hits('maxage.test');
  const start = hits();
  await discovery.discover('maxage.test');
  clock.t += 59_000;
  await discovery.discover('maxage.test');
  assert.equal(hits(), start + 1, 'within max-age the server is not asked again');
  clock.t += 2_000;
  await discovery.discover('maxage.test');
  assert.equal(hits(), start + 2, 'after max-age it is');
});

test('the Age a proxy reports shortens the life', async () => {
  server.serve('aged.test', supportedDoc(), { 'cache-control': 'max-age=60', age: '50' });
  const { discovery, clock } = setup();
  const start = server.hits('aged.test');
  await discovery.discover('aged.test');
  clock.t += 9_000;
  await discovery.discover('aged.test');
  assert.equal(server.hits('aged.test'), start + 1);
  clock.t += 2_000;
  await discovery.discover('aged.test');
  assert.equal(server.hits('aged.test'), start + 2);
});

test('a long max-age is bounded by maxCacheMs (default 6 h)', async () => {
  server.serve('forever.test', supportedDoc(), { 'cache-control': 'max-age=31536000' });
  const sixHours = DISCOVERY_DEFAULTS.maxCacheMs;
  assert.equal(sixHours, 6 * 3600 * 1000);
  const { discovery, clock } = setup();
  const start = server.hits('forever.test');
  await discovery.discover('forever.test');
  clock.t += sixHours - 1000;
  await discovery.discover('forever.test');
  assert.equal(server.hits('forever.test'), start + 1);
  clock.t += 2000;
  await discovery.discover('forever.test');
  assert.equal(server.hits('forever.test'), start + 2);

  const short = setup({ maxCacheMs: 10_000 });
  await short.discovery.discover('forever.test');
  short.clock.t += 10_001;
  await short.discovery.discover('forever.test');
  assert.equal(server.hits('forever.test'), start + 4);
});

test('no-store, no-cache, private and a missing header are not cached', async () => {
  server.serve('nostore.test', supportedDoc(), { 'cache-control': 'max-age=600, no-store' });
  server.serve('nocache.test', supportedDoc(), { 'cache-control': 'no-cache, max-age=600' });
  server.serve('private.test', supportedDoc(), { 'cache-control': 'private, max-age=600' });
  server.serve('noheader.test', supportedDoc());
  const { discovery } = setup();
  for (const domain of ['nostore.test', 'nocache.test', 'private.test', 'noheader.test']) {
    const start = server.hits(domain);
    await discovery.discover(domain);
    await discovery.discover(domain);
    assert.equal(server.hits(domain), start + 2, domain);
  }
});

test('a failure is remembered for failureCacheMs, then retried', async () => {
  let answers = 0;
  server.on('flaky.test', (req, res) => {
    answers++;
    if (answers === 1) json({ error: 'down' }, {}, 503)(req, res);
    else json(supportedDoc(), { 'cache-control': 'no-store' })(req, res);
  });
  const { discovery, clock } = setup();
  const first = await rejection(discovery.discover('flaky.test'));
  assert.match(first.message, /non-200/);
  clock.t += DISCOVERY_DEFAULTS.failureCacheMs - 1000;
  const again = await rejection(discovery.discover('flaky.test'));
  assert.equal(again.message, first.message);
  assert.equal(answers, 1, 'the failure was served from the cache');
  clock.t += 2000;
  assert.equal((await discovery.discover('flaky.test')).kind, 'supported');
  assert.equal(answers, 2);
});

test('concurrent lookups of one URL make one request', async () => {
  server.on('flight.test', (req, res) => {
    setTimeout(() => {
      json(supportedDoc(), { 'cache-control': 'no-store' })(req, res);
    }, 150);
  });
  const { discovery } = setup();
  const start = server.hits('flight.test');
  const results = await Promise.all(Array.from({ length: 8 }, () => discovery.discover('flight.test')));
  assert.equal(server.hits('flight.test'), start + 1);
  for (const r of results) assert.equal(r.kind, 'supported');
  // Shared in flight only: no-store means the next lookup asks again.
  await discovery.discover('flight.test');
  assert.equal(server.hits('flight.test'), start + 2);
});

test('the cache holds at most maxEntries, dropping the least recently used', async () => {
  for (const d of ['lru1.test', 'lru2.test', 'lru3.test'])
    server.serve(d, supportedDoc(), { 'cache-control': 'max-age=600' });
  const { discovery } = setup({ maxEntries: 2 });
  const hits = () => ['lru1.test', 'lru2.test', 'lru3.test'].map((d) => server.hits(d));
  const start = hits();
  await discovery.discover('lru1.test');
  await discovery.discover('lru2.test');
  await discovery.discover('lru1.test'); // lru1 is now the most recently used
  await discovery.discover('lru3.test'); // evicts lru2
  await discovery.discover('lru1.test');
  await discovery.discover('lru3.test');
  assert.deepEqual(
    hits().map((h, i) => h - (start[i] ?? 0)),
    [1, 1, 1],
  );
  await discovery.discover('lru2.test');
  assert.deepEqual(
    hits().map((h, i) => h - (start[i] ?? 0)),
    [1, 2, 1],
  );
});

test('each hop of a delegation is cached on its own terms, per principal', async () => {
  server.serve('hop1.test', { authority: 'hop2.test' }, { 'cache-control': 'max-age=600' });
  server.serve('hop2.test', supportedDoc(), { 'cache-control': 'no-store' });
  const events: DiscoveryFetch[] = [];
  const { discovery } = setup({ onFetch: (e) => events.push(e) });
  await discovery.discover('hop1.test');
  await discovery.discover('hop1.test');
  assert.deepEqual(
    events.map((e) => [e.domain, e.outcome, e.cachedForMs]),
    [
      ['hop1.test', 'delegated', 600_000],
      ['hop2.test', 'supported', 0],
      ['hop2.test', 'supported', 0],
    ],
  );
  assert.equal(events[0]?.status, 200);
  assert.equal(events[0]?.url, 'https://hop1.test/.well-known/browserid?domain=hop1.test');
  await discovery.discover('hop1.test', 'principal.test'); // another URL, so another fetch
  assert.equal(events.length, 5);
});

test('cacheLifetimeMs reads Cache-Control as a shared cache would', () => {
  const max = 6 * 3600_000;
  const cases: [string | string[] | undefined, string | undefined, number][] = [
    [undefined, undefined, 0],
    ['', undefined, 0],
    ['max-age=60', undefined, 60_000],
    ['MAX-AGE="120"', undefined, 120_000],
    ['public, max-age=60, s-maxage=30', undefined, 30_000],
    [['public', 'max-age=60'], undefined, 60_000],
    ['max-age=60, max-age=600', undefined, 60_000],
    ['max-age=60', '70', 0],
    ['max-age=0', undefined, 0],
    ['max-age=-5', undefined, 0],
    ['max-age=ten', undefined, 0],
    ['max-age=99999999999', undefined, max],
    ['max-age=60, no-store', undefined, 0],
    ['no-cache="set-cookie", max-age=60', undefined, 0],
    ['private, max-age=60', undefined, 0],
    ['must-revalidate, max-age=60', undefined, 60_000],
  ];
  for (const [header, age, expected] of cases)
    assert.equal(cacheLifetimeMs(header, age, max), expected, JSON.stringify([header, age]));
});

test('a shimmed primary (development) is fetched from its local http origin, and its URLs point there', async () => {
  const { createServer } = await import('node:http');
  const keys = generateKeypair('RS256');
  let hits = 0;
  const shim = createServer((req, res) => {
    hits++;
    assert.equal(req.url, '/.well-known/browserid?domain=shimmed.test');
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify(
        supportDocumentFor(keys.publicKey, { authentication: '/authenticate', provisioning: '/provision' }),
      ),
    );
  });
  await new Promise<void>((resolve) => shim.listen(0, '127.0.0.1', resolve));
  const address = shim.address();
  const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const discovery = createDiscovery({ shimmedPrimaries: new Map([['shimmed.test', origin]]) });
  try {
    const found = await discovery.discover('shimmed.test');
    assert.ok(found.kind === 'supported');
    assert.equal(found.authoritativeDomain, 'shimmed.test', 'the domain stays the issuer name');
    assert.equal(found.authentication, `${origin}/authenticate`);
    assert.equal(found.provisioning, `${origin}/provision`);
    assert.deepEqual((await discovery.publicKeyOf('shimmed.test')).json, keys.publicKey.json);
    assert.equal(hits, 2, 'fetched for each lookup: the document sent no Cache-Control');
    // Other domains still go to https on 443: not shimmed, not found here.
    await assert.rejects(discovery.discover('unshimmed.invalid'), BrowserIdError);
  } finally {
    await discovery.close();
    shim.close();
  }
});
