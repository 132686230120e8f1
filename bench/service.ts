/**
 * `npm run bench:service`: the service as real processes (every tier under the supervisor, SQLite), driven
 * over HTTP on loopback, each figure beside its limit measured in the same run:
 *  - /verify requests/s through the router, beside the raw crypto limit of the same work (one RS256 and
 *    one DS128 signature check per request, node:crypto on prepared keys, one core);
 *  - sign-ins/s (authenticate_user + cert_key + /verify) at the default bcrypt cost 12, beside the bcrypt
 *    compares/s this machine does with every core busy.
 * Bounded: BENCH_SECONDS per figure (default 10). The machine has 2 cores shared by every tier and the load.
 */
import { availableParallelism, cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import bcrypt from 'bcrypt';
import { request } from 'undici';
import {
  bundle,
  certifyPublicKey,
  checkBackedAssertion,
  createAssertion,
  generateKeypair,
  parseSecretKey,
  publicKeyOf,
} from '../src/browserid/index.ts';
import { createTierGate, generateTierKey, signTierRequest } from '../src/http/tier-auth.ts';
import { browser } from '../test/helpers/browser.ts';
import { PASSWORD, RP, signUp } from '../test/helpers/flows.ts';
import { startSmtpSink } from '../test/helpers/smtp.ts';
import { startStack } from '../test/helpers/stack.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const COST = Number(process.env.BENCH_BCRYPT_COST ?? 12);

/** Runs `op` from `concurrency` loops for `seconds`; completed ops per second and their latencies. */
async function load(concurrency: number, seconds: number, op: (i: number) => Promise<void>) {
  const end = performance.now() + seconds * 1000;
  const latencies: number[] = [];
  let i = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await op(i++);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { rate: latencies.length / elapsed, seconds: elapsed, p50: p(0.5), p95: p(0.95) };
}

/** User + system CPU time of a process so far, ms (from /proc/<pid>/stat, in clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function asyncRateOf(seconds: number, op: (i: number) => Promise<void>): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let i = 0;
  const start = performance.now();
  while (performance.now() < end) await op(i++);
  return i / ((performance.now() - start) / 1000);
}

function rateOf(seconds: number, op: (i: number) => unknown): number {
  const end = performance.now() + seconds * 1000;
  let i = 0;
  const start = performance.now();
  while (performance.now() < end) op(i++);
  return i / ((performance.now() - start) / 1000);
}

const line = (label: string, value: string, note = '') =>
  console.log(`  ${label.padEnd(58)} ${value.padStart(12)}   ${note}`);

const smtp = await startSmtpSink();
const PARTS = new Set((process.env.BENCH_PARTS ?? 'verify,signin').split(','));
const benchEnv = {
  PERSONA_SMTP_URL: smtp.url,
  PERSONA_BCRYPT_COST: String(COST),
  PERSONA_LOG_LEVEL: 'error',
};
let stack = await startStack({ env: benchEnv });
console.log(
  `bench:service — Node ${process.version}, ${cpus()[0]?.model ?? '?'} × ${availableParallelism()}, ${SECONDS} s per figure, bcrypt cost ${COST}\n`,
);
try {
  if (PARTS.has('verify')) {
    // ---- /verify through the router, and what one request costs ----------------------------------------
    const domainKey = parseSecretKey(
      readFileSync(join(stack.config.dataDir, 'keys', 'domain-key.secret.json'), 'utf8'),
    );
    const issuer = new URL(stack.base).hostname;
    const now = Date.now();
    const fixtures = Array.from({ length: 200 }, (_, n) => {
      const user = generateKeypair('DS128');
      const cert = certifyPublicKey(
        {
          issuer,
          publicKey: user.publicKey,
          principal: { email: `u${n}@example.com` },
          issuedAt: now,
          expiresAt: now + 3_600_000,
        },
        domainKey,
      );
      const assertion = createAssertion({ audience: RP, expiresAt: now + 3_600_000 }, user.secretKey);
      return { backed: bundle([cert], assertion), user, cert, assertion };
    });
    const bodies = fixtures.map((f) => new URLSearchParams({ assertion: f.backed, audience: RP }).toString());
    const verifyAt = (base: string) => async (i: number) => {
      const res = await request(`${base}/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: bodies[i % bodies.length],
      });
      const body = (await res.body.json()) as { status: string };
      if (body.status !== 'okay') throw new Error(`verify said ${JSON.stringify(body)}`);
    };

    const raw = fixtures.map((f) => {
      const [ch = '', cp = '', cs = ''] = f.cert.split('.');
      const [ah = '', ap = '', as = ''] = f.assertion.split('.');
      return {
        ci: Buffer.from(`${ch}.${cp}`),
        cs: Buffer.from(cs, 'base64url'),
        ai: Buffer.from(`${ah}.${ap}`),
        as: Buffer.from(as, 'base64url'),
        key: f.user.publicKey.keyObject,
      };
    });
    const issuerPublic = publicKeyOf(domainKey).keyObject;
    const rawOnce = (i: number) => {
      const r = raw[i % raw.length]!;
      verify('sha256', r.ci, issuerPublic, r.cs);
      verify('sha1', r.ai, { key: r.key, dsaEncoding: 'ieee-p1363' }, r.as);
    };
    // The verifier's own work without HTTP: parsing, checks and both signatures.
    const directory = {
      publicKeyOf: () => Promise.resolve(publicKeyOf(domainKey)),
      authorityOf: (domain: string) => Promise.resolve(domain),
    };
    const inProcessOnce = async (i: number) => {
      const result = await checkBackedAssertion(fixtures[i % fixtures.length]!.backed, {
        audience: RP,
        directory,
        fallbackIssuer: issuer,
        fallbackKey: publicKeyOf(domainKey),
      });
      if (!result.ok) throw new Error('in-process verification failed');
    };
    // Trust between tiers: the MAC every call carries now, and the Ed25519 signature it replaced.
    const message = { method: 'POST', url: '/verify', body: bodies[0] };
    const macKey = generateTierKey();
    const gate = createTierGate('verifier', new Map([['router', macKey]]));
    const macOnce = () => {
      const headers = signTierRequest('router', macKey, 'verifier', message);
      gate.check({ ...message, headers });
    };
    const ed = generateKeyPairSync('ed25519');
    const edOnce = () => {
      const signature = sign(null, Buffer.from(JSON.stringify(message)), ed.privateKey);
      verify(null, Buffer.from(JSON.stringify(message)), ed.publicKey, signature);
    };

    await load(8, 1, verifyAt(stack.base)); // warm-up
    // CPU time each process spends, read from /proc around the run: per request, whatever else the machine does.
    const pids = { router: stack.supervisor.pid('router')!, verifier: stack.supervisor.pid('verifier')! };
    const cpuBefore = {
      router: cpuMs(pids.router),
      verifier: cpuMs(pids.verifier),
      load: process.cpuUsage(),
    };
    const verified = await load(16, SECONDS, verifyAt(stack.base));
    const served = verified.rate * verified.seconds;
    const loadCpu = process.cpuUsage(cpuBefore.load);
    const perRequest = {
      router: ((cpuMs(pids.router) - cpuBefore.router) * 1000) / served,
      verifier: ((cpuMs(pids.verifier) - cpuBefore.verifier) * 1000) / served,
      load: (loadCpu.user + loadCpu.system) / served,
    };
    const rawLimit = rateOf(Math.min(3, SECONDS), rawOnce);
    const inProcess = await asyncRateOf(Math.min(3, SECONDS), inProcessOnce);
    const macRate = rateOf(1, macOnce);
    const edRate = rateOf(1, edOnce);

    // The same load with two verifier processes behind the router.
    await stack.stop();
    stack = await startStack({ env: { ...benchEnv, PERSONA_INSTANCES: '{"verifier":2}' } });
    const fixturesIssuerKey = parseSecretKey(
      readFileSync(join(stack.config.dataDir, 'keys', 'domain-key.secret.json'), 'utf8'),
    );
    // A new stack has a new domain key: certify the same user keys again under it.
    const bodies2 = fixtures.map((f, n) => {
      const cert = certifyPublicKey(
        {
          issuer: new URL(stack.base).hostname,
          publicKey: f.user.publicKey,
          principal: { email: `u${n}@example.com` },
          issuedAt: now,
          expiresAt: now + 3_600_000,
        },
        fixturesIssuerKey,
      );
      return new URLSearchParams({ assertion: bundle([cert], f.assertion), audience: RP }).toString();
    });
    bodies.splice(0, bodies.length, ...bodies2);
    await load(8, 1, verifyAt(stack.base));
    const verified2 = await load(16, SECONDS, verifyAt(stack.base));

    const us = (rate: number) => `${(1e6 / rate).toFixed(0)} µs`;
    console.log('/verify through the router (16 connections, 200 distinct assertions)');
    line('raw crypto limit: RS256 + DS128 verify, one core', `${Math.round(rawLimit)}/s`, us(rawLimit));
    line(
      'service, 1 verifier: POST /verify via router → verifier',
      `${Math.round(verified.rate)}/s`,
      `${((100 * verified.rate) / rawLimit).toFixed(1)} % of the raw limit; p50 ${verified.p50.toFixed(1)} ms, p95 ${verified.p95.toFixed(1)} ms`,
    );
    line(
      'service, 2 verifiers',
      `${Math.round(verified2.rate)}/s`,
      `${((100 * verified2.rate) / rawLimit).toFixed(1)} % of the raw limit, ×${(verified2.rate / verified.rate).toFixed(2)} of 1 verifier; p50 ${verified2.p50.toFixed(1)} ms, p95 ${verified2.p95.toFixed(1)} ms`,
    );
    console.log('\nCost of one /verify, one core (per request):');
    line('both signature checks (the raw limit)', us(rawLimit));
    line('verification in process: parse, checks, signatures', us(inProcess));
    line('trust between tiers: HMAC sign + check (now)', us(macRate));
    line(
      'trust between tiers: Ed25519 sign + verify (before)',
      us(edRate),
      `×${(macRate / edRate).toFixed(1)} the MAC`,
    );
    line('CPU in the verifier process (measured, /proc)', `${perRequest.verifier.toFixed(0)} µs`);
    line('CPU in the router process (measured, /proc)', `${perRequest.router.toFixed(0)} µs`);
    line('CPU in the load generator (measured)', `${perRequest.load.toFixed(0)} µs`);
    const total = perRequest.verifier + perRequest.router + perRequest.load;
    line(
      'all three; the rate they allow on these cores',
      `${total.toFixed(0)} µs`,
      `${Math.round((1e6 * availableParallelism()) / total)}/s if nothing else ran`,
    );
    console.log('');
  }
  // ---- sign-ins at the default bcrypt cost ------------------------------------------------------------
  if (PARTS.has('signin')) {
    const accounts = 8;
    const emails: string[] = [];
    for (let n = 0; n < accounts; n++) {
      const email = `bench${n}@example.com`;
      await signUp(stack.base, smtp, email);
      emails.push(email);
    }
    const userKey = generateKeypair('DS128');
    const pubkey = JSON.stringify(userKey.publicKey.json);
    const signIn = async (i: number) => {
      const email = emails[i % emails.length]!;
      const b = browser(stack.base);
      const auth = await b.post('/wsapi/authenticate_user', { email, pass: PASSWORD, ephemeral: false });
      if (auth.json().success !== true) throw new Error(`sign-in failed: ${auth.text}`);
      const cert = await b.post('/wsapi/cert_key', { email, pubkey, ephemeral: false });
      if (cert.status !== 200) throw new Error(`cert_key failed: ${cert.text}`);
      const assertion = createAssertion({ audience: RP, expiresAt: Date.now() + 120_000 }, userKey.secretKey);
      const res = await request(`${stack.base}/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ assertion: bundle([cert.text], assertion), audience: RP }),
      });
      const verdict = (await res.body.json()) as { status: string };
      if (verdict.status !== 'okay') throw new Error(`verify said ${JSON.stringify(verdict)}`);
    };
    await signIn(0);
    const signIns = await load(availableParallelism() * 2, SECONDS, signIn);

    const hash = await bcrypt.hash(PASSWORD, COST);
    const bcryptStart = performance.now();
    let compares = 0;
    await Promise.all(
      Array.from({ length: availableParallelism() }, async () => {
        while (performance.now() - bcryptStart < Math.min(5, SECONDS) * 1000) {
          await bcrypt.compare(PASSWORD, hash);
          compares++;
        }
      }),
    );
    const bcryptLimit = compares / ((performance.now() - bcryptStart) / 1000);
    console.log(
      `\nSign-ins: session_context + authenticate_user (bcrypt ${COST}) + cert_key + /verify, ${accounts} accounts`,
    );
    line(`limit: bcrypt compares/s, ${availableParallelism()} at once`, `${bcryptLimit.toFixed(1)}/s`);
    line(
      'service: sign-ins through the router',
      `${signIns.rate.toFixed(1)}/s`,
      `${((100 * signIns.rate) / bcryptLimit).toFixed(1)} % of the bcrypt limit; p50 ${signIns.p50.toFixed(0)} ms, p95 ${signIns.p95.toFixed(0)} ms`,
    );
  }
} finally {
  await stack.stop();
  await smtp.close();
}
