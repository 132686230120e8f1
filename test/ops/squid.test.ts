/**
 * The generated egress proxy with a real squid (issue 13), in front of the real stack: the webhead's and
 * the verifier's discovery of a primary go through it; a destination squid refuses (metadata, private)
 * is a clean failure; with squid down, discovery fails cleanly and fast. The IdP listens on port 443 of
 * an unusual loopback address (discovery always asks https://<domain>/ on 443), which the generated
 * config allows only as an explicit development destination; squid alone knows the test domains.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { appendFileSync, chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { createAssertion, bundle } from '../../src/browserid/assertion.ts';
import { certifyPublicKey } from '../../src/browserid/certificate.ts';
import { generateKeypair } from '../../src/browserid/keys.ts';
import { supportDocumentFor } from '../../src/browserid/support-document.ts';
import { loadConfig } from '../../src/config/load.ts';
import { EGRESS_TIERS, squidConfig } from '../../src/ops/squid.ts';
import { missing } from '../helpers/components.ts';
import { PORT_443, SQUID } from '../helpers/squid.ts';
import { makeTestPki, startIdpServer, type IdpServer, type TestPki } from '../helpers/idp-servers.ts';
import { freePort, startStack, type Stack } from '../helpers/stack.ts';

const skip = (await missing(SQUID)) ?? (await missing(PORT_443));

const RP = 'https://rp.example';
let pki: TestPki;
let idp: IdpServer;
let stack: Stack;
let squidPort: number;
let dir: string;
let squid: ChildProcess | undefined;
const idpKey = generateKeypair('RS256');

const read = (file: string) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};
const accessLog = () => read(join(dir, 'access.log'));
const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });

async function waitForLog(pattern: RegExp, timeoutMs = 5000): Promise<string> {
  for (const deadline = Date.now() + timeoutMs; ; await sleep(50)) {
    if (pattern.test(accessLog())) return accessLog();
    if (Date.now() > deadline) throw new Error(`squid access.log never matched ${pattern}:\n${accessLog()}`);
  }
}

function generated(env: Record<string, string>, options: { allowDomains?: string[] } = {}): string {
  return squidConfig(loadConfig({ env: { PERSONA_ENV: 'test', ...env } }), {
    stateDir: dir,
    logDir: dir,
    devDestinations: [`${idp.host}/32`],
    ...options,
  });
}

before(async () => {
  if (skip) return;
  pki = makeTestPki(['idp.test', 'meta.test', 'private.test']);
  for (let attempt = 0; ; attempt++) {
    try {
      idp = await startIdpServer(pki, {
        host: `127.${randomInt(100, 250)}.${randomInt(0, 256)}.${randomInt(1, 250)}`,
        port: 443,
      });
      break;
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
  idp.serve(
    'idp.test',
    supportDocumentFor(idpKey.publicKey, { authentication: '/auth', provisioning: '/prov' }),
  );
  dir = mkdtempSync(join(tmpdir(), 'persona-egress-'));
  chmodSync(dir, 0o755);
  squidPort = await freePort();
  const conf = join(dir, 'squid.conf');
  writeFileSync(conf, generated({ PERSONA_HTTP_PROXY: `http://127.0.0.1:${squidPort}` }));
  // Test only: squid resolves the test domains from a file, and nothing else anywhere.
  writeFileSync(
    join(dir, 'hosts'),
    `${idp.host} idp.test\n169.254.169.254 meta.test\n10.1.2.3 private.test\n`,
  );
  appendFileSync(conf, `hosts_file ${join(dir, 'hosts')}\ndns_nameservers 127.0.0.1\n`);
  // As root squid runs as the proxy user, which must write its logs here.
  if (process.getuid?.() === 0) execFileSync('chown', ['-R', 'proxy', dir]);
  squid = spawn('squid', ['-N', '-f', conf], { stdio: 'ignore' });
  for (const deadline = Date.now() + 15_000; !(await answers(squidPort)); await sleep(50))
    if (Date.now() > deadline) throw new Error(`squid did not start:\n${read(join(dir, 'cache.log'))}`);
  writeFileSync(join(pki.dir, 'ca-only.crt'), pki.ca);
  stack = await startStack({
    env: {
      PERSONA_HTTP_PROXY: `http://127.0.0.1:${squidPort}`,
      // The tiers trust the test CA the IdP's certificate comes from.
      NODE_EXTRA_CA_CERTS: join(pki.dir, 'ca-only.crt'),
    },
  });
});

async function stopSquid(): Promise<void> {
  if (!squid || squid.exitCode !== null) return;
  const exited = new Promise((resolve) => squid?.once('exit', resolve));
  squid.kill('SIGTERM');
  const killer = setTimeout(() => squid?.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(killer);
}

after(async () => {
  if (skip) return;
  await stack?.stop();
  await stopSquid();
  await idp?.close();
  pki?.remove();
  rmSync(dir, { recursive: true, force: true });
});

test(
  'the generated config parses, in both modes; the clients are the tiers that reach the egress proxy',
  { skip },
  () => {
    // The bridge's provider calls too, where a deployment runs it (its instances then join the clients).
    assert.deepEqual(EGRESS_TIERS, ['webhead', 'dbwriter', 'verifier', 'bridge']);
    for (const options of [{}, { allowDomains: ['.idp.test', 'login.example.org'] }]) {
      const file = join(dir, 'parse.conf');
      writeFileSync(file, generated({ PERSONA_HTTP_PROXY: 'http://127.0.0.1:3128' }, options));
      const parsed = spawnSync('squid', ['-k', 'parse', '-f', file], { encoding: 'utf8' });
      assert.equal(parsed.status, 0, parsed.stderr);
      assert.doesNotMatch(parsed.stderr, /ERROR|FATAL/, parsed.stderr);
    }
    assert.match(generated({}), /^acl persona_tiers src 127\.0\.0\.1\/32$/m);
    assert.throws(
      () => generated({ PERSONA_ENV: 'production', PERSONA_SMTP_URL: 'smtp://mail.example:25' }),
      /production/,
    );
  },
);

test('the webhead and the verifier discover a primary through squid', { skip }, async () => {
  const info = await request(`${stack.base}/wsapi/address_info?email=alice%40idp.test`);
  const body = (await info.body.json()) as Record<string, unknown>;
  assert.equal(body.type, 'primary', JSON.stringify(body));
  assert.equal(body.auth, 'https://idp.test/auth');

  const user = generateKeypair('RS256');
  const now = Date.now();
  const cert = certifyPublicKey(
    {
      issuer: 'idp.test',
      publicKey: user.publicKey,
      principal: { email: 'alice@idp.test' },
      issuedAt: now,
      expiresAt: now + 60_000,
    },
    idpKey.secretKey,
  );
  const assertion = createAssertion({ audience: RP, expiresAt: now + 60_000 }, user.secretKey);
  const verified = await request(`${stack.base}/verify`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ assertion: bundle([cert], assertion), audience: RP }).toString(),
  });
  const result = (await verified.body.json()) as Record<string, unknown>;
  assert.equal(result.status, 'okay', JSON.stringify(result));
  assert.equal(result.issuer, 'idp.test');
  // Two tiers, two lookups, each a tunnel through squid (logged when it closes: idle keep-alive may hold
  // it open, so the IdP's own count says both came).
  assert.ok(idp.hits('idp.test') >= 2, `the IdP saw ${idp.hits('idp.test')} requests`);
  assert.ok(idp.requests.every((r) => r.domain === 'idp.test'));
});

test(
  'destinations squid refuses (metadata, private) are clean failures; squid logs the denial',
  { skip },
  async () => {
    for (const domain of ['meta.test', 'private.test']) {
      const res = await request(`${stack.base}/wsapi/address_info?email=bob%40${domain}`);
      const text = await res.body.text();
      assert.ok(res.statusCode === 200 || res.statusCode === 503, `${res.statusCode} ${text}`);
      assert.doesNotMatch(text, /proxy|squid|403|169\.254|10\.1\.2\.3/i, 'no proxy detail reaches callers');
      await waitForLog(
        new RegExp(`method=CONNECT url=${domain.replace('.', '\\.')}:443 status=403 verdict=TCP_DENIED`),
      );
    }
  },
);

test('with squid down, discovery fails cleanly and fast', { skip }, async () => {
  await stopSquid();
  const started = performance.now();
  const res = await request(`${stack.base}/wsapi/address_info?email=carol%40other.test`);
  const text = await res.body.text();
  const ms = performance.now() - started;
  assert.ok(res.statusCode === 200 || res.statusCode === 503, `${res.statusCode} ${text}`);
  assert.doesNotMatch(text, /ECONNREFUSED|proxy/i);
  assert.ok(ms < 3000, `answered in ${Math.round(ms)} ms`);
  process.stdout.write(`# squid down: address_info answered ${res.statusCode} in ${Math.round(ms)} ms\n`);
});
