/**
 * The generated edge with a real nginx (issue 13), straight to the tier pools over mutual TLS
 * (PERSONA_EDGE_LISTENERS) and, beside it, a second nginx sending everything to the routers: `nginx -t`
 * passes; over https with a throwaway CA the sign-up → mail → sign-in → /verify flow works through nginx;
 * internal ops and /metrics answer 404 at the edge; a client's own X-Forwarded-For changes nothing; a
 * killed webhead instance is ejected by nginx itself, a killed router by the routers' nginx, and requests
 * keep succeeding; a tier's edge listener refuses a client without the edge's certificate from the
 * deployment's tier CA.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tlsConnect } from 'node:tls';
import Database from 'better-sqlite3';
import { Agent, request, setGlobalDispatcher } from 'undici';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { loadConfig } from '../../src/config/load.ts';
import { SQLITE_FILE } from '../../src/db/config.ts';
import { ensureTierTls, tierServerName, tierTlsDir, tierTlsFiles } from '../../src/http/tier-tls.ts';
import { nginxConfig } from '../../src/ops/nginx.ts';
import { deploymentOf, edgeListenersOf, type Tier } from '../../src/topology/index.ts';
import { browser } from '../helpers/browser.ts';
import { missing } from '../helpers/components.ts';
import { assertionFor, PASSWORD, RP, signUp, verifyRemotely } from '../helpers/flows.ts';
import { makeTestPki, type TestPki } from '../helpers/idp-servers.ts';
import { edgeAgent, NGINX, nginxPrefix, nginxTest, startNginx, type Nginx } from '../helpers/nginx.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp.ts';
import { startStack, type Stack } from '../helpers/stack.ts';

const skip = await missing(NGINX);
const HOST = 'persona.test';
// The client's own address, not the edge's (127.0.0.1): what the tiers must count it under.
const CLIENT = '127.0.0.7';

let pki: TestPki;
let smtp: SmtpSink;
let stack: Stack;
let nginx: Nginx;
/** The second edge, in front of the routers (PERSONA_EDGE_LISTENERS aside). */
let viaRouters: Nginx;
let httpsPort: number;
let httpPort: number;
let base: string;
let routersBase: string;

/** `n` distinct free ports: held open together, so none is handed out twice. */
async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer());
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

const agentFrom = (localAddress: string) => edgeAgent(pki.ca, localAddress);

before(async () => {
  if (skip) return;
  pki = makeTestPki([HOST]);
  const [routersHttps = 0, routersHttp = 0] = await freePorts(4).then((ports) => {
    [httpsPort = 0, httpPort = 0] = ports;
    return ports.slice(2);
  });
  base = `https://${HOST}:${httpsPort}`;
  routersBase = `https://${HOST}:${routersHttps}`;
  setGlobalDispatcher(agentFrom(CLIENT));
  smtp = await startSmtpSink();
  stack = await startStack({
    env: {
      PERSONA_SMTP_URL: smtp.url,
      PERSONA_PUBLIC_URL: base,
      PERSONA_TRUSTED_PROXIES: '127.0.0.1',
      PERSONA_EDGE_LISTENERS: 'true',
      PERSONA_INSTANCES: JSON.stringify({ webhead: 2, router: 2 }),
      PERSONA_EDGE_TLS_CERT: join(pki.dir, 'server.crt'),
      PERSONA_EDGE_TLS_KEY: join(pki.dir, 'server.key'),
    },
    // A killed instance stays down while the test watches.
    restartDelayMs: 60_000,
  });
  const dir = nginxPrefix();
  const conf = nginxConfig(stack.config, {
    stateDir: dir,
    logDir: dir,
    httpPort,
    listen: '127.0.0.1',
    workers: 1,
    foreground: true,
  });
  nginx = await startNginx(dir, conf, httpsPort);
  const routersDir = nginxPrefix();
  viaRouters = await startNginx(
    routersDir,
    nginxConfig(stack.config, {
      stateDir: routersDir,
      logDir: routersDir,
      httpPort: routersHttp,
      httpsPort: routersHttps,
      listen: '127.0.0.1',
      workers: 1,
      foreground: true,
      to: 'routers',
    }),
    routersHttps,
  );
});

after(async () => {
  if (skip) return;
  await nginx?.stop();
  await viaRouters?.stop();
  await stack?.stop();
  await smtp?.close();
  pki?.remove();
});

test('the generated config passes nginx -t, and `persona ops nginx` writes the same', { skip }, () => {
  const file = join(nginx.dir, 'nginx.conf');
  assert.ok(nginxTest(nginx.dir, file).ok, nginxTest(nginx.dir, file).output);
  const cli = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'ops',
      'nginx',
      '--state-dir',
      nginx.dir,
      '--log-dir',
      nginx.dir,
      '--http-port',
      String(httpPort),
      '--listen',
      '127.0.0.1',
      '--workers',
      '1',
      '--foreground',
    ],
    { encoding: 'utf8', env: { ...process.env, ...envOf(stack) } },
  );
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal(
    cli.stdout,
    nginxConfig(loadConfig({ env: envOf(stack) }), {
      stateDir: nginx.dir,
      logDir: nginx.dir,
      httpPort,
      listen: '127.0.0.1',
      workers: 1,
      foreground: true,
    }),
  );
  // Straight to the pools: both webheads' edge listeners, the verifier's, the dbwriter's; no router.
  const edgePorts = (tier: Tier) =>
    edgeListenersOf(deploymentOf(stack.config), tier).map((i) => `server 127.0.0.1:${i.port} max_fails=2`);
  for (const tier of ['webhead', 'dbwriter', 'verifier'] as const)
    for (const server of edgePorts(tier)) assert.ok(cli.stdout.includes(server), `${tier}: ${server}`);
  assert.equal(edgePorts('webhead').length, 2);
  assert.doesNotMatch(cli.stdout, /persona_router/);
  assert.match(
    cli.stdout,
    /location = \/verify \{[^}]*proxy_ssl_name verifier\.tiers\.persona\.internal;\s+proxy_pass https:\/\/persona_verifier;/,
  );
  assert.match(cli.stdout, /proxy_ssl_verify on;/);
  // The routers' edge passed nginx -t too (it is running): everything to the two routers.
  const routersConf = readFileSync(join(viaRouters.dir, 'nginx.conf'), 'utf8');
  assert.match(
    routersConf,
    /upstream persona_router \{\n\s+server 127\.0\.0\.1:\d+ max_fails=2 fail_timeout=10s;\n\s+server 127\.0\.0\.1:\d+ max_fails/,
  );
  assert.doesNotMatch(routersConf, /proxy_ssl/);
});

/** The settings the stack runs with, as environment variables (for the CLI and loadConfig). */
function envOf(s: Stack): Record<string, string> {
  const c = s.config;
  return {
    PERSONA_ENV: 'test',
    PERSONA_DATA_DIR: c.dataDir,
    PERSONA_PUBLIC_URL: c.publicUrl,
    PERSONA_ROUTER_PORT: String(c.routerPort),
    PERSONA_WEBHEAD_PORT: String(c.webheadPort),
    PERSONA_DBWRITER_PORT: String(c.dbwriterPort),
    PERSONA_VERIFIER_PORT: String(c.verifierPort),
    PERSONA_INSTANCES: JSON.stringify(c.instances),
    PERSONA_EDGE_LISTENERS: String(c.edgeListeners),
    PERSONA_EDGE_TLS_CERT: c.edgeTlsCert,
    PERSONA_EDGE_TLS_KEY: c.edgeTlsKey,
  };
}

test('http redirects to https; https speaks HTTP/2 and TLS 1.2+ with one HSTS header', { skip }, async () => {
  const plain = await request(`http://127.0.0.1:${httpPort}/about?x=1`);
  await plain.body.dump();
  assert.equal(plain.statusCode, 301);
  assert.equal(plain.headers.location, `${base}/about?x=1`);

  const alpn = await new Promise<string | false | null>((resolve, reject) => {
    const socket = tlsConnect(
      { host: '127.0.0.1', port: httpsPort, servername: HOST, ca: pki.ca, ALPNProtocols: ['h2', 'http/1.1'] },
      () => {
        resolve(socket.alpnProtocol);
        socket.destroy();
      },
    );
    socket.once('error', reject);
  });
  assert.equal(alpn, 'h2');
  const old = await new Promise<string>((resolve) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: httpsPort,
      servername: HOST,
      ca: pki.ca,
      maxVersion: 'TLSv1.1',
      minVersion: 'TLSv1',
    });
    socket.once('error', (err) => {
      resolve(err.message);
    });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve('connected');
    });
  });
  assert.notEqual(old, 'connected', 'TLS 1.1 must be refused');

  const page = await request(`${base}/`);
  await page.body.dump();
  assert.equal(page.statusCode, 200);
  assert.equal(page.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
  assert.match(String(page.headers['x-request-id']), /^[0-9a-f]{32}$/, 'the edge made the request id');
});

test('through nginx over https: sign up, mail link, sign in, cert_key, /verify okay', { skip }, async () => {
  const email = 'edge@example.com';
  await signUp(base, smtp, email);
  const b = browser(base);
  const signedIn = await b.post('/wsapi/authenticate_user', { email, pass: PASSWORD, ephemeral: false });
  assert.equal(signedIn.json().success, true, signedIn.text);
  const { backed } = await assertionFor(b, email);
  const verified = await verifyRemotely(base, backed);
  assert.equal(verified.status, 'okay', JSON.stringify(verified));
  assert.equal(verified.email, email);
  assert.equal(verified.issuer, HOST);
  assert.equal(verified.audience, RP);
  // The access log is JSON, names the path without its query string.
  // nginx writes the line just after the answer leaves.
  for (let i = 0; i < 40 && !nginx.accessLog().includes('"path":"/verify"'); i++) await sleep(25);
  const lines = nginx
    .accessLog()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(lines.some((l) => l.path === '/verify' && l.status === 200 && l.client === CLIENT));
  assert.ok(!nginx.accessLog().includes('token='), 'no query string in the access log');
  // Each went straight to its pool, on the tier's edge listener.
  const listeners = (tier: Tier) =>
    edgeListenersOf(deploymentOf(stack.config), tier).map((i) => `127.0.0.1:${i.port}`);
  const wentTo = (path: string, tier: Tier) =>
    lines.filter((l) => l.path === path).every((l) => listeners(tier).includes(String(l.upstream)));
  assert.ok(wentTo('/verify', 'verifier'), 'the verifier answered /verify');
  assert.ok(wentTo('/wsapi/stage_user', 'dbwriter'), 'a dbwriter answered the write');
  assert.ok(wentTo('/wsapi/session_context', 'webhead'), 'a webhead answered the read');
});

test('bench: /verify through nginx to the verifiers vs through the routers, same run', { skip }, async () => {
  const email = 'bench@example.com';
  const { backed } = await assertionFor(await signUp(base, smtp, email), email);
  const router = `http://127.0.0.1:${stack.config.routerPort}`;
  const time = async (origin: string, n: number): Promise<number[]> => {
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const started = performance.now();
      assert.equal((await verifyRemotely(origin, backed)).status, 'okay');
      ms.push(performance.now() - started);
    }
    return ms.sort((a, b) => a - b);
  };
  await time(base, 10);
  await time(routersBase, 10);
  await time(router, 10);
  const [viaEdge, viaRouter, direct] = [
    await time(base, 100),
    await time(routersBase, 100),
    await time(router, 100),
  ];
  const p = (ms: number[], q: number) => (ms[Math.floor(q * (ms.length - 1))] ?? 0).toFixed(2);
  process.stdout.write(
    `# /verify, 100 sequential each: nginx → verifier p50 ${p(viaEdge, 0.5)} ms p95 ${p(viaEdge, 0.95)} ms; ` +
      `nginx → router → verifier p50 ${p(viaRouter, 0.5)} ms p95 ${p(viaRouter, 0.95)} ms; ` +
      `router → verifier (http, no edge) p50 ${p(direct, 0.5)} ms p95 ${p(direct, 0.95)} ms\n`,
  );
});

test('internal ops and /metrics answer 404 at the edge', { skip }, async () => {
  for (const path of ['/wsapi/saw_idp', '/wsapi/hit_rate_limit', '/metrics']) {
    const res = await request(`${base}${path}`, { method: path === '/metrics' ? 'GET' : 'POST', body: '{}' });
    await res.body.dump();
    assert.equal(res.statusCode, 404, path);
    assert.equal(res.headers['x-request-id'], undefined, `${path} never reached a tier`);
  }
});

const buckets = (): string[] => {
  const db = new Database(join(stack.config.dataDir, SQLITE_FILE), { readonly: true });
  try {
    return (db.prepare('SELECT bucket FROM rate_limit').all() as { bucket: string }[]).map((r) => r.bucket);
  } finally {
    db.close();
  }
};

test(
  'a spoofed X-Forwarded-For from outside changes nothing: the tiers count the real client',
  { skip },
  async () => {
    const spoofed = '198.51.100.23';
    const b = browser(base);
    await b.sessionContext();
    // Through the edge, with the client's own header.
    const res = await request(`${base}/wsapi/stage_user`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-forwarded-for': spoofed,
        cookie: [...b.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      },
      body: JSON.stringify({
        csrf: (await b.sessionContext()).csrf_token,
        email: 'spoof@example.com',
        pass: PASSWORD,
        site: RP,
      }),
    });
    assert.equal(res.statusCode, 200, await res.body.text());
    // Straight to the router, bypassing the edge: the router trusts only the edge's address.
    const direct = await request(
      `http://127.0.0.1:${stack.config.routerPort}/wsapi/address_info?email=x%40example.com`,
      {
        headers: { 'x-forwarded-for': spoofed },
        dispatcher: agentFrom(CLIENT),
      },
    );
    await direct.body.dump();
    const seen = buckets();
    assert.ok(seen.includes(`stage:ip:${CLIENT}`), JSON.stringify(seen));
    assert.ok(!seen.some((bucket) => bucket.includes(spoofed)), JSON.stringify(seen));
    assert.ok(!seen.some((bucket) => bucket.endsWith(':127.0.0.1')), 'nobody is counted as the edge');
  },
);

async function hammer(n: number, origin = base): Promise<{ ok: number; failed: string[] }> {
  let ok = 0;
  const failed: string[] = [];
  for (let i = 0; i < n; i++) {
    const path = i % 2 === 0 ? '/wsapi/session_context' : '/';
    try {
      const res = await request(`${origin}${path}`);
      await res.body.dump();
      // Under the edge's per-address rate (30 r/s): this is about ejection, not the limit.
      await sleep(40);
      if (res.statusCode === 200) ok++;
      else failed.push(`${path} ${res.statusCode}`);
    } catch (err) {
      failed.push(`${path} ${(err as Error).message}`);
    }
  }
  return { ok, failed };
}

test(
  "a killed webhead instance behind nginx, then a killed router behind the routers' nginx: requests keep succeeding",
  { skip },
  async () => {
    const before = await hammer(20);
    assert.deepEqual(before.failed, []);
    assert.deepEqual((await hammer(4, routersBase)).failed, []);

    const webhead2 = stack.supervisor.pid('webhead#2');
    assert.ok(webhead2);
    process.kill(webhead2, 'SIGKILL');
    const afterWebhead = await hammer(40);
    assert.deepEqual(afterWebhead.failed, [], 'every request answered after webhead#2 died');
    // nginx itself found the dead webhead's edge listener and left it out.
    const [, second] = edgeListenersOf(deploymentOf(stack.config), 'webhead');
    assert.ok(
      nginx.errorLog().includes(`connect() failed (111: Connection refused) while connecting to upstream`) &&
        nginx.errorLog().includes(`127.0.0.1:${second?.port}`),
      nginx.errorLog(),
    );

    const router2 = stack.supervisor.pid('router#2');
    assert.ok(router2);
    process.kill(router2, 'SIGKILL');
    const afterRouter = await hammer(40, routersBase);
    assert.deepEqual(afterRouter.failed, [], 'every request answered after router#2 died');
    assert.match(viaRouters.errorLog(), /connect\(\) failed \(111: Connection refused\)/);
    process.stdout.write(
      `# killed webhead#2 behind nginx (straight to pools): ${afterWebhead.failed.length} of 40 requests failed; ` +
        `router#2 behind the routers' nginx: ${afterRouter.failed.length} of 40\n`,
    );
  },
);

/** A client certificate from the deployment's own CA for `name` (what a stolen CA key could make). */
function clientCertificate(
  files: ReturnType<typeof tierTlsFiles>,
  name: string,
): { cert: Buffer; key: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'persona-client-cert-'));
  const at = (file: string) => join(dir, file);
  try {
    const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
    openssl(
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      at('client.key'),
      '-out',
      at('client.csr'),
      '-subj',
      `/O=persona tiers/CN=${name}`,
    );
    writeFileSync(at('client.ext'), 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
    openssl(
      'x509',
      '-req',
      '-in',
      at('client.csr'),
      '-CA',
      files.caCert,
      '-CAkey',
      files.caKey,
      '-CAcreateserial',
      '-CAserial',
      at('ca.srl'),
      '-days',
      '1',
      '-extfile',
      at('client.ext'),
      '-out',
      at('client.crt'),
    );
    return { cert: readFileSync(at('client.crt')), key: readFileSync(at('client.key')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A client of a tier's edge listener with the given client certificate (or none). */
async function askEdgeListener(
  tier: Tier,
  path: string,
  client?: { cert: Buffer; key: Buffer },
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string } | { refused: string }> {
  const files = tierTlsFiles(tierTlsDir(join(stack.config.dataDir, 'tier-keys')));
  const [listener] = edgeListenersOf(deploymentOf(stack.config), tier);
  const agent = new Agent({
    connect: { ca: readFileSync(files.caCert), servername: tierServerName(tier), ...client },
  });
  try {
    const res = await request(`${listener?.url}${path}`, { ...init, dispatcher: agent });
    return { status: res.statusCode, body: await res.body.text() };
  } catch (err) {
    return { refused: (err as { code?: string }).code ?? (err as Error).message };
  } finally {
    await agent.close();
  }
}

test(
  "a tier's edge listener answers only the edge's certificate from this deployment's CA, and only public routes",
  { skip },
  async () => {
    const files = tierTlsFiles(tierTlsDir(join(stack.config.dataDir, 'tier-keys')));
    const edge = { cert: readFileSync(files.edgeCert), key: readFileSync(files.edgeKey) };
    const ok = await askEdgeListener('webhead', '/wsapi/session_context', edge);
    assert.deepEqual('status' in ok && ok.status, 200, JSON.stringify(ok));

    const refused = (answer: Awaited<ReturnType<typeof askEdgeListener>>, why: string) =>
      assert.ok('refused' in answer, `${why}: ${JSON.stringify(answer)}`);
    refused(await askEdgeListener('webhead', '/wsapi/session_context'), 'no client certificate');
    const other = mkdtempSync(join(tmpdir(), 'persona-other-ca-'));
    try {
      ensureTierTls(other);
      const foreign = tierTlsFiles(other);
      refused(
        await askEdgeListener('webhead', '/wsapi/session_context', {
          cert: readFileSync(foreign.edgeCert),
          key: readFileSync(foreign.edgeKey),
        }),
        "another deployment's edge certificate",
      );
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
    refused(
      await askEdgeListener('webhead', '/wsapi/session_context', {
        cert: readFileSync(files.serverCert('verifier')),
        key: readFileSync(files.serverKey('verifier')),
      }),
      "this CA's certificate of a tier, not the edge's",
    );
    refused(
      await askEdgeListener('webhead', '/wsapi/session_context', clientCertificate(files, 'router')),
      'a client certificate from this CA that names another caller',
    );

    // The edge's certificate opens public routes to that tier only, answered as the router answers.
    const internal = await askEdgeListener('dbwriter', '/wsapi/saw_idp', edge, {
      method: 'POST',
      body: '{}',
    });
    assert.equal('status' in internal && internal.status, 404, JSON.stringify(internal));
    const read = await askEdgeListener('dbwriter', '/wsapi/session_context', edge);
    assert.equal('status' in read && read.status, 404, "a read is the webhead's, not the dbwriter's");
    // The verifier serves its metrics to the monitoring network, and `/` as `/verify`: not to the edge.
    for (const [method, path] of [
      ['GET', '/metrics'],
      ['POST', '/'],
    ] as const) {
      const other = await askEdgeListener('verifier', path, edge, {
        method,
        body: method === 'POST' ? '' : undefined,
      });
      assert.equal(
        'status' in other && other.status,
        404,
        `${method} ${path} at the verifier: ${JSON.stringify(other)}`,
      );
    }
    const verify = await askEdgeListener('webhead', '/verify', edge, { method: 'POST', body: '' });
    assert.equal('status' in verify && verify.status, 404, "/verify is the verifier's");
    const unknown = await askEdgeListener('webhead', '/wsapi/no_such_op', edge);
    assert.deepEqual('status' in unknown && [unknown.status, unknown.body], [
      400,
      'Bad Request: no such api',
    ]);
    // A deadline from outside is not believed: the edge starts the clock, as the router does.
    const late = await askEdgeListener('webhead', '/wsapi/session_context', edge, {
      headers: { 'x-persona-deadline': '1' },
    });
    assert.equal('status' in late && late.status, 200, JSON.stringify(late));
  },
);

test(
  'the edge limits requests per client address: a flood gets 429, another client does not',
  { skip },
  async () => {
    // A few kept-alive connections: the flood outruns the limit however slowly handshakes go on a busy
    // machine (one connection per request spread 150 handshakes over seconds, under the rate).
    const flooder = edgeAgent(pki.ca, '127.0.0.8', 6);
    const statuses = await Promise.all(
      Array.from({ length: 150 }, async () => {
        const res = await request(`${base}/wsapi/session_context`, { dispatcher: flooder });
        await res.body.dump();
        return res.statusCode;
      }),
    );
    assert.ok(statuses.filter((s) => s === 429).length > 0, 'some of the flood was refused');
    assert.ok(statuses.filter((s) => s === 200).length >= 60, 'the burst was served');
    const other = await request(`${base}/wsapi/session_context`);
    await other.body.dump();
    assert.equal(other.statusCode, 200, 'another address is not limited');
    await flooder.close();
  },
);
