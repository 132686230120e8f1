/**
 * The generated edge with a real nginx (issue 13): `nginx -t` passes; over https with a throwaway CA the
 * sign-up → mail → sign-in → /verify flow works through nginx; internal ops and /metrics answer 404 at the
 * edge; a client's own X-Forwarded-For changes nothing; killed webhead and router instances are ejected
 * and requests keep succeeding.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tlsConnect } from 'node:tls';
import Database from 'better-sqlite3';
import { request, setGlobalDispatcher } from 'undici';
import { loadConfig } from '../../src/config/load.ts';
import { SQLITE_FILE } from '../../src/db/config.ts';
import { nginxConfig } from '../../src/ops/nginx.ts';
import { browser } from '../helpers/browser.ts';
import { missing } from '../helpers/components.ts';
import { assertionFor, PASSWORD, RP, signUp, verifyRemotely } from '../helpers/flows.ts';
import { makeTestPki, type TestPki } from '../helpers/idp-servers.ts';
import { edgeAgent, NGINX, nginxPrefix, nginxTest, startNginx, type Nginx } from '../helpers/nginx.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp.ts';
import { freePort, startStack, type Stack } from '../helpers/stack.ts';

const skip = await missing(NGINX);
const HOST = 'persona.test';
// The client's own address, not the edge's (127.0.0.1): what the tiers must count it under.
const CLIENT = '127.0.0.7';

let pki: TestPki;
let smtp: SmtpSink;
let stack: Stack;
let nginx: Nginx;
let httpsPort: number;
let httpPort: number;
let base: string;

const agentFrom = (localAddress: string) => edgeAgent(pki.ca, localAddress);

before(async () => {
  if (skip) return;
  pki = makeTestPki([HOST]);
  [httpsPort, httpPort] = [await freePort(), await freePort()];
  base = `https://${HOST}:${httpsPort}`;
  setGlobalDispatcher(agentFrom(CLIENT));
  smtp = await startSmtpSink();
  stack = await startStack({
    env: {
      PERSONA_SMTP_URL: smtp.url,
      PERSONA_PUBLIC_URL: base,
      PERSONA_TRUSTED_PROXIES: '127.0.0.1',
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
});

after(async () => {
  if (skip) return;
  await nginx?.stop();
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
  assert.match(
    cli.stdout,
    /server 127\.0\.0\.1:\d+ max_fails=2 fail_timeout=10s;\n\s+server 127\.0\.0\.1:\d+ max_fails/,
  );
});

/** The settings the stack runs with, as environment variables (for the CLI and loadConfig). */
function envOf(s: Stack): Record<string, string> {
  const c = s.config;
  return {
    PERSONA_ENV: 'test',
    PERSONA_DATA_DIR: c.dataDir,
    PERSONA_PUBLIC_URL: c.publicUrl,
    PERSONA_ROUTER_PORT: String(c.routerPort),
    PERSONA_INSTANCES: JSON.stringify(c.instances),
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
});

test('bench: /verify through nginx vs straight to the router, same run', { skip }, async () => {
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
  await time(router, 10);
  const [viaEdge, direct] = [await time(base, 100), await time(router, 100)];
  const p = (ms: number[], q: number) => (ms[Math.floor(q * (ms.length - 1))] ?? 0).toFixed(2);
  process.stdout.write(
    `# /verify, 100 sequential each: through nginx (https, keep-alive) p50 ${p(viaEdge, 0.5)} ms p95 ${p(viaEdge, 0.95)} ms; ` +
      `straight to the router (http) p50 ${p(direct, 0.5)} ms p95 ${p(direct, 0.95)} ms\n`,
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

async function hammer(n: number): Promise<{ ok: number; failed: string[] }> {
  let ok = 0;
  const failed: string[] = [];
  for (let i = 0; i < n; i++) {
    const path = i % 2 === 0 ? '/wsapi/session_context' : '/';
    try {
      const res = await request(`${base}${path}`);
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
  'a killed webhead instance, then a killed router instance: requests keep succeeding',
  { skip },
  async () => {
    const before = await hammer(20);
    assert.deepEqual(before.failed, []);

    const webhead2 = stack.supervisor.pid('webhead#2');
    assert.ok(webhead2);
    process.kill(webhead2, 'SIGKILL');
    const afterWebhead = await hammer(40);
    assert.deepEqual(afterWebhead.failed, [], 'every request answered after webhead#2 died');

    const router2 = stack.supervisor.pid('router#2');
    assert.ok(router2);
    process.kill(router2, 'SIGKILL');
    const afterRouter = await hammer(40);
    assert.deepEqual(afterRouter.failed, [], 'every request answered after router#2 died');
    // nginx saw the dead router and left it out.
    assert.match(nginx.errorLog(), /connect\(\) failed \(111: Connection refused\)/);
    process.stdout.write(
      `# killed webhead#2 then router#2 behind nginx: ${afterWebhead.failed.length + afterRouter.failed.length} of 80 requests failed\n`,
    );
  },
);

test(
  'the edge limits requests per client address: a flood gets 429, another client does not',
  { skip },
  async () => {
    const flooder = agentFrom('127.0.0.8');
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
