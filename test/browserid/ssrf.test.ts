/**
 * SSRF through /verify and discovery (issue 10 item 1, SPEC §4.14): a certificate naming any issuer made
 * the verifier fetch https://<issuer>/.well-known/browserid before any signature was checked, from
 * loopback, private and metadata addresses, and the reason told the caller the socket error.
 *
 * Traps listen on 127.0.0.1:443 and 127.0.0.2:443 (where https://<issuer>/ would connect) and count every
 * connection: the attacks against loopback go through the real egress client, so a broken guard shows as
 * a trapped connection. Addresses off this machine (169.254.169.254, 10.1.2.3, …) must never see a packet
 * from a test, guard or no guard: those go through a client whose connector only records and refuses.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, Socket, type LookupFunction, type Server } from 'node:net';
import { pino } from 'pino';
import { Agent, request, type Dispatcher } from 'undici';
import { bundle, createAssertion } from '../../src/browserid/assertion.ts';
import { certifyPublicKey } from '../../src/browserid/certificate.ts';
import { createDiscovery, type DiscoveryFetch } from '../../src/browserid/discovery.ts';
import {
  createEgressDispatcher,
  destinationProblem,
  EgressRefusedError,
  isForbiddenAddress,
} from '../../src/browserid/egress.ts';
import { generateKeypair } from '../../src/browserid/keys.ts';
import { checkBackedAssertion, type VerifyOptions } from '../../src/browserid/verify.ts';
import { buildVerifier } from '../../src/tiers/verifier/index.ts';
import { startSilentServer } from '../helpers/idp-servers.ts';

const RP = 'https://rp.example';
const issuerKeys = generateKeypair('RS256');
const user = generateKeypair('RS256');

interface Trap {
  readonly host: string;
  connections: number;
  close(): Promise<void>;
}

/** A TCP listener on host:443 that counts connections and drops them. */
async function trap(host: string): Promise<Trap> {
  const sockets = new Set<Socket>();
  const result = { host, connections: 0, close: async () => undefined };
  const server: Server = createServer((socket) => {
    result.connections++;
    sockets.add(socket);
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(443, host, resolve);
  });
  result.close = () =>
    new Promise<undefined>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => {
        resolve(undefined);
      });
    });
  return result;
}

let traps: Trap[];
const trapped = () => traps.reduce((n, t) => n + t.connections, 0);

before(async () => {
  traps = [await trap('127.0.0.1'), await trap('127.0.0.2')];
});
after(async () => {
  await Promise.all(traps.map((t) => t.close()));
});

/** A backed assertion whose certificate names `issuer`, otherwise valid (times, audience, address). */
function backedFrom(
  issuer: string,
  { audience = RP, expiresIn = 60_000, email = 'alice@example.com' } = {},
): string {
  const now = Date.now();
  const cert = certifyPublicKey(
    {
      issuer,
      publicKey: user.publicKey,
      principal: { email },
      issuedAt: now - 1000,
      expiresAt: now + 60_000,
    },
    issuerKeys.secretKey,
  );
  return bundle([cert], createAssertion({ audience, expiresAt: now + expiresIn }, user.secretKey));
}

/** Resolves only `names` (to the given addresses), through nothing but this table. */
function tableLookup(names: Record<string, string>, calls: string[]): LookupFunction {
  const lookup = (
    hostname: string,
    options: { all?: boolean },
    callback: (err: NodeJS.ErrnoException | null, address: unknown, family?: number) => void,
  ) => {
    calls.push(hostname);
    const address = names[hostname];
    if (address === undefined) {
      const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
      err.code = 'ENOTFOUND';
      callback(err, undefined);
      return;
    }
    const family = address.includes(':') ? 6 : 4;
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
  return lookup as unknown as LookupFunction;
}

/** An undici Agent that connects nowhere: it records each target it was asked for and refuses. */
function recordingAgent(): { agent: Agent; targets: string[] } {
  const targets: string[] = [];
  const agent = new Agent({
    connect: (options, callback) => {
      targets.push(options.hostname);
      callback(new Error(`connect ECONNREFUSED ${options.hostname}:443`), null);
    },
  });
  return { agent, targets };
}

const notPrimary = (issuer: string) =>
  `can't get public key for ${issuer}: ${issuer} is not a browserid primary`;

test('/verify with loopback issuers, by name, literal and non-canonical forms: generic reason, no connection', async (t) => {
  const resolved: string[] = [];
  const fetches: DiscoveryFetch[] = [];
  // The production client (direct, no proxy), with a resolver that sends rebind.test to loopback.
  const dispatcher = createEgressDispatcher({
    lookup: tableLookup({ 'rebind.test': '127.0.0.2', 'mapped.test': '::ffff:127.0.0.1' }, resolved),
    connectTimeoutMs: 2000,
  });
  const discovery = createDiscovery({ dispatcher, timeoutMs: 3000, onFetch: (f) => fetches.push(f) });
  const { app } = buildVerifier({
    fallbackIssuer: 'login.example.org',
    forcibleIssuers: [],
    directory: discovery,
    logger: pino({ level: 'silent' }),
  });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(async () => {
    await app.close();
    await discovery.close();
    await dispatcher.close();
  });

  const issuers = [
    'localhost',
    'idp.localhost',
    '127.0.0.1',
    '127.0.0.2',
    '0177.0.0.1',
    '2130706433',
    '0x7f.1',
    '127.1',
    '0.0.0.0',
    'rebind.test', // resolves to 127.0.0.2: refused on the address the socket would connect to
    'mapped.test', // resolves to ::ffff:127.0.0.1
  ];
  for (const issuer of issuers) {
    const res = await request(`${base}/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ assertion: backedFrom(issuer), audience: RP }),
    });
    assert.equal(res.statusCode, 200);
    const body = (await res.body.json()) as { status: string; reason: string };
    assert.deepEqual(body, { status: 'failure', reason: notPrimary(issuer) }, issuer);
  }
  assert.equal(trapped(), 0, 'no connection reached a loopback listener');
  assert.deepEqual(resolved, ['rebind.test', 'mapped.test'], 'only the names were resolved, once each');
  // Operators still learn why, in what discovery reports for logs and metrics.
  const rebind = fetches.find((f) => f.domain === 'rebind.test');
  assert.match(rebind?.error ?? '', /refused: rebind\.test resolves to 127\.0\.0\.2/);
});

test('issuers off this machine (metadata, RFC 1918, CGNAT, internal names) are refused before any connect', async (t) => {
  const { agent, targets } = recordingAgent();
  const discovery = createDiscovery({ dispatcher: agent });
  t.after(async () => {
    await discovery.close();
    await agent.close();
  });
  const issuers = [
    '169.254.169.254',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '100.64.0.1',
    '224.0.0.1',
    '255.255.255.255',
    'metadata.google.internal',
    'intranet',
    'printer.local',
    '012.1.2.3',
    '0xa9.254.169.254',
  ];
  for (const issuer of issuers) {
    const result = await checkBackedAssertion(backedFrom(issuer), { audience: RP, directory: discovery });
    assert.deepEqual(result, { ok: false, code: 'no-public-key', reason: notPrimary(issuer) }, issuer);
  }
  assert.deepEqual(targets, [], 'the client was never asked to connect');
});

test('failures below HTTP give the generic reason, never the socket error', async (t) => {
  const silent = await startSilentServer();
  const dispatcher = createEgressDispatcher({ lookup: tableLookup({}, []) });
  const discovery = createDiscovery({ dispatcher });
  t.after(async () => {
    await discovery.close();
    await dispatcher.close();
    await silent.close();
  });
  const result = await checkBackedAssertion(backedFrom('nxdomain.test'), {
    audience: RP,
    directory: discovery,
  });
  assert.deepEqual(result, { ok: false, code: 'no-public-key', reason: notPrimary('nxdomain.test') });
  assert.doesNotMatch(JSON.stringify(result), /ENOTFOUND|getaddrinfo/);
});

test('the egress client refuses forbidden literals and names itself, with or without a proxy', async (t) => {
  const resolved: string[] = [];
  const direct = createEgressDispatcher({ lookup: tableLookup({ 'rebind.test': '127.0.0.2' }, resolved) });
  // The proxy is a trap: were the name not refused first, the CONNECT would reach it.
  const proxied = createEgressDispatcher({ proxyUrl: 'http://127.0.0.1:443' });
  t.after(async () => {
    await direct.close();
    await proxied.close();
  });
  const refused = async (dispatcher: Dispatcher, origin: string) => {
    await assert.rejects(
      dispatcher.request({ origin, path: '/.well-known/browserid', method: 'GET' }),
      (err: unknown) => err instanceof EgressRefusedError,
      origin,
    );
  };
  for (const origin of [
    'https://127.0.0.2',
    'https://[::1]',
    'https://[::ffff:127.0.0.2]',
    'https://0177.0.0.2',
    'https://2130706434',
    'https://localhost',
    'https://rebind.test',
  ])
    await refused(direct, origin);
  for (const origin of ['https://127.0.0.2', 'https://0x7f.0.0.2', 'https://localhost', 'https://[::1]'])
    await refused(proxied, origin);
  assert.equal(trapped(), 0);
  assert.deepEqual(resolved, ['rebind.test']);
});

test('forbidden address ranges, v4, v6 and v4 inside v6', () => {
  for (const address of [
    '127.0.0.1',
    '127.255.255.254',
    '10.1.2.3',
    '172.31.255.255',
    '192.168.0.1',
    '169.254.169.254',
    '100.64.0.1',
    '100.127.255.255',
    '0.0.0.0',
    '224.0.0.251',
    '255.255.255.255',
    '198.18.0.1',
    '::',
    '::1',
    '::127.0.0.1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:169.254.169.254',
    '::ffff:10.0.0.1',
    '64:ff9b::a9fe:a9fe',
    '64:ff9b::10.0.0.1',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'fe80::1%eth0',
    'ff02::1',
    '2002:7f00:1::1',
    'not an address',
  ])
    assert.equal(isForbiddenAddress(address), true, address);
  for (const address of [
    '8.8.8.8',
    '1.1.1.1',
    '100.128.0.1',
    '172.32.0.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
  ])
    assert.equal(isForbiddenAddress(address), false, address);
});

test('names refused before lookup, and those left to the connect-time check', () => {
  for (const host of [
    'localhost',
    'LOCALHOST.',
    'a.localhost',
    'metadata.google.internal',
    'intranet',
    '127.1',
    '0177.0.0.1',
    '2130706433',
    '0x7f.1',
    '1.2.3.04',
    '127.0.0.1',
    '[::1]',
    '[fe80::1]',
  ])
    assert.notEqual(destinationProblem(host), undefined, host);
  for (const host of ['example.com', 'idp.test', '8.8.8.8', 'x1.example.org', '[2606:4700::1111]'])
    assert.equal(destinationProblem(host), undefined, host);
});

test('nothing is fetched for an assertion that fails the cheap checks (times, audience, address)', async (t) => {
  const { agent, targets } = recordingAgent();
  const discovery = createDiscovery({ dispatcher: agent });
  t.after(async () => {
    await discovery.close();
    await agent.close();
  });
  const options: VerifyOptions = { audience: RP, directory: discovery };
  const cases: [string, string][] = [
    [backedFrom('idp.test', { expiresIn: -1000 }), 'assertion has expired'],
    [backedFrom('idp.test', { audience: 'https://other.example' }), 'audience mismatch: domain mismatch'],
    [backedFrom('idp.test', { email: 'not-an-address' }), 'invalid email'],
  ];
  for (const [backed, reason] of cases) {
    const result = await checkBackedAssertion(backed, options);
    assert.equal(result.ok ? 'okay' : result.reason, reason);
  }
  assert.deepEqual(targets, [], 'no fetch for assertions that fail without a key');
  // The same assertion, valid: now the issuer is asked (and its failure is the generic one).
  const result = await checkBackedAssertion(backedFrom('idp.test'), options);
  assert.equal(result.ok ? 'okay' : result.reason, notPrimary('idp.test'));
  assert.deepEqual(targets, ['idp.test']);
});

test('a flood of distinct bogus issuers: fetches in flight stay under the cap, the rest fail at once', async (t) => {
  // Every issuer "resolves" to a server that accepts and never speaks: each fetch holds a connection.
  const silent = await startSilentServer();
  let open = 0;
  let peak = 0;
  const agent = new Agent({
    connect: (options, callback) => {
      open++;
      peak = Math.max(peak, open);
      const socket = new Socket();
      socket.connect(silent.port, '127.0.0.1');
      socket.once('close', () => open--);
      callback(null, socket);
    },
  });
  const cap = 8;
  const discovery = createDiscovery({ dispatcher: agent, timeoutMs: 1500, maxConcurrentFetches: cap });
  t.after(async () => {
    await discovery.close();
    await agent.destroy();
    await silent.close();
  });
  const issuers = Array.from({ length: 200 }, (_, i) => `bogus${i}.test`);
  const assertions = issuers.map((issuer) => backedFrom(issuer));
  const started = performance.now();
  const settled: number[] = [];
  const results = await Promise.all(
    assertions.map(async (backed) => {
      const result = await checkBackedAssertion(backed, { audience: RP, directory: discovery });
      settled.push(performance.now() - started);
      return result;
    }),
  );
  assert.ok(peak <= cap, `peak connections ${peak} > cap ${cap}`);
  assert.ok(peak > 0);
  for (const [i, r] of results.entries())
    assert.equal(r.ok ? 'okay' : r.reason.split(': ')[0], `can't get public key for ${issuers[i]}`);
  const fast = settled.filter((ms) => ms < 500).length;
  assert.ok(fast >= issuers.length - cap, `only ${fast} failed at once`);
  // A timed-out issuer is remembered: asking again does not fetch.
  const before = peak;
  open = 0;
  peak = 0;
  const again = await checkBackedAssertion(backedFrom(issuers[0] ?? ''), {
    audience: RP,
    directory: discovery,
  });
  assert.equal(again.ok, false);
  assert.equal(peak, 0, `a remembered failure fetched again (peak before ${before})`);
});
