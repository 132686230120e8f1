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
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { request, setGlobalDispatcher } from 'undici';
import {
  bundle,
  certifyPublicKey,
  checkBackedAssertion,
  createAssertion,
  generateKeypair,
  parseSecretKey,
} from '../src/browserid/index.ts';
import { createTierGate, generateTierKey, signTierRequest } from '../src/http/tier-auth.ts';
import { browser } from '../test/helpers/browser.ts';
import { PASSWORD, RP, signUp } from '../test/helpers/flows.ts';
import { startSmtpSink } from '../test/helpers/smtp.ts';
import { freePort, startStack, type Stack } from '../test/helpers/stack.ts';
import { missing } from '../test/helpers/components.ts';
import { makeTestPki } from '../test/helpers/idp-servers.ts';
import { edgeAgent, NGINX, nginxPrefix, startNginx, type Nginx } from '../test/helpers/nginx.ts';
import { nginxConfig } from '../src/ops/nginx.ts';
import { cpuOf, nginxPids } from './proc.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const COST = Number(process.env.BENCH_BCRYPT_COST ?? 12);

/** Runs `op` from `concurrency` loops for `seconds`; completed ops per second and their latencies. */
async function load(concurrency: number, seconds: number, op: (i: number, loop: number) => Promise<void>) {
  const end = performance.now() + seconds * 1000;
  const latencies: number[] = [];
  let i = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, loop) => {
      while (performance.now() < end) {
        const t = performance.now();
        await op(i++, loop);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { rate: latencies.length / elapsed, seconds: elapsed, p50: p(0.5), p95: p(0.95) };
}

/**
 * A lean HTTP/1.1 client for one kept-alive connection (as wrk or autocannon are): the request's bytes
 * written whole, the answer read by its Content-Length or chunks. It costs the load generator a fraction
 * of undici's work per request, and this machine's two cores are shared with the service
 * (BENCH_CLIENT=undici measures with undici instead).
 */
function leanConnection(origin: URL, ca?: string) {
  const port = Number(origin.port) || (origin.protocol === 'https:' ? 443 : 80);
  let buffered: Buffer = Buffer.alloc(0);
  let pending:
    | {
        request: string;
        resolve: (answer: { status: number; body: string }) => void;
        reject: (err: Error) => void;
        resent: boolean;
      }
    | undefined;
  const parse = () => {
    const end = buffered.indexOf('\r\n\r\n');
    if (end < 0 || !pending) return;
    const head = buffered.subarray(0, end).toString('latin1');
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    let body: string;
    let rest: Buffer;
    if (length) {
      const total = end + 4 + Number(length[1]);
      if (buffered.length < total) return;
      body = buffered.subarray(end + 4, total).toString();
      rest = buffered.subarray(total);
    } else {
      // chunked: enough for small answers, read until the last chunk
      const last = buffered.indexOf('\r\n0\r\n\r\n', end);
      if (last < 0) return;
      body = buffered.subarray(end + 4, last).toString();
      rest = buffered.subarray(last + 7);
    }
    buffered = rest;
    const answered = pending;
    pending = undefined;
    answered.resolve({ status, body });
  };
  // Servers close kept-alive connections (nginx after keepalive_requests, 1000): open another and send
  // the request again once, as an HTTP client does, instead of waiting forever.
  let socket: Socket | undefined;
  let closed = false;
  const open = (): Socket => {
    const s =
      origin.protocol === 'https:'
        ? tlsConnect({
            host: '127.0.0.1',
            port,
            servername: origin.hostname,
            ca,
            ALPNProtocols: ['http/1.1'],
          })
        : netConnect({ host: '127.0.0.1', port });
    s.setNoDelay(true);
    s.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      parse();
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      if (socket === s) socket = undefined;
      buffered = Buffer.alloc(0);
      const waiting = pending;
      if (!waiting || closed) return;
      if (waiting.resent) {
        pending = undefined;
        waiting.reject(new Error('connection closed before an answer'));
      } else {
        waiting.resent = true;
        (socket ??= open()).write(waiting.request);
      }
    });
    return s;
  };
  socket = open();
  return {
    post(path: string, body: string): Promise<{ status: number; body: string }> {
      return new Promise((resolve, reject) => {
        const request = `POST ${path} HTTP/1.1\r\nHost: ${origin.host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
        pending = { request, resolve, reject, resent: false };
        (socket ??= open()).write(request);
      });
    },
    close: () => {
      closed = true;
      const s = socket;
      socket = undefined;
      s?.destroy();
    },
  };
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
// The /verify part runs its own stacks (edge listeners, nginx); the sign-in part this plain one.
let stack: Stack = PARTS.has('verify')
  ? (undefined as unknown as Stack)
  : await startStack({ env: benchEnv });
/** nginx in front, when it is installed: the edge's own certificate for a test name, from a throwaway CA. */
const EDGE_HOST = 'persona.bench';
const pki = (await missing(NGINX)) ? undefined : makeTestPki([EDGE_HOST]);
const edgePorts = { https: await freePort(), http: await freePort() };
if (pki) setGlobalDispatcher(edgeAgent(pki.ca, '127.0.0.1'));
console.log(
  `bench:service — Node ${process.version}, ${cpus()[0]?.model ?? '?'} × ${availableParallelism()}, ${SECONDS} s per figure, bcrypt cost ${COST}\n`,
);
try {
  if (PARTS.has('verify')) {
    // ---- /verify through the router and through nginx straight to the verifiers, and what one costs ----
    const now = Date.now();
    const users = Array.from({ length: 200 }, (_, n) => {
      const user = generateKeypair('DS128');
      const assertion = createAssertion({ audience: RP, expiresAt: now + 3_600_000 }, user.secretKey);
      return { n, user, assertion };
    });
    /** The users certified by `issuer` under `domainKey`, each with its backed assertion. */
    const certified = (issuer: string, domainKey: Parameters<typeof certifyPublicKey>[1]) =>
      users.map(({ n, user, assertion }) => {
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
        return { backed: bundle([cert], assertion), user, cert, assertion };
      });
    /** The same users certified under a stack's own domain key (a new stack has a new key). */
    const fixturesFor = (s: Stack) => {
      const domainKey = parseSecretKey(
        readFileSync(join(s.config.dataDir, 'keys', 'domain-key.secret.json'), 'utf8'),
      );
      const issuer = new URL(s.config.publicUrl).hostname;
      return { fixtures: certified(issuer, domainKey) };
    };
    /** /verify from `concurrency` lean connections for `seconds`, as load() measures. */
    const leanVerify = async (
      base: string,
      bodies: readonly string[],
      concurrency: number,
      seconds: number,
    ) => {
      const origin = new URL(base);
      const connections = Array.from({ length: concurrency }, () => leanConnection(origin, pki?.ca));
      try {
        return await load(concurrency, seconds, async (i, loop) => {
          const answer = await connections[loop]!.post('/verify', bodies[i % bodies.length]!);
          if (answer.status !== 200 || !answer.body.includes('"status":"okay"'))
            throw new Error(`verify said ${answer.status} ${answer.body.slice(0, 200)}`);
        });
      } finally {
        for (const c of connections) c.close();
      }
    };
    const verifyAt = (base: string, bodies: readonly string[]) => async (i: number) => {
      const res = await request(`${base}/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: bodies[i % bodies.length],
      });
      const text = await res.body.text();
      if (res.statusCode !== 200 || (JSON.parse(text) as { status: string }).status !== 'okay')
        throw new Error(`verify said ${res.statusCode} ${text.slice(0, 200)}`);
    };

    /**
     * A stack with `verifiers` verifier processes, edge listeners on, and (when nginx is here) nginx in
     * front sending /verify straight to them over mutual TLS; /verify measured through the router and
     * through nginx in turn, with each process's CPU per request from /proc.
     */
    async function measure(verifiers: number) {
      const s = await startStack({
        env: {
          ...benchEnv,
          PERSONA_INSTANCES: JSON.stringify({ verifier: verifiers }),
          PERSONA_EDGE_LISTENERS: 'true',
          PERSONA_PUBLIC_URL: `https://${EDGE_HOST}:${edgePorts.https}`,
        },
      });
      let nginx: Nginx | undefined;
      try {
        if (pki) {
          const dir = nginxPrefix();
          nginx = await startNginx(
            dir,
            nginxConfig(
              {
                ...s.config,
                edgeTlsCert: join(pki.dir, 'server.crt'),
                edgeTlsKey: join(pki.dir, 'server.key'),
              },
              {
                stateDir: dir,
                logDir: dir,
                httpPort: edgePorts.http,
                listen: '127.0.0.1',
                workers: 1,
                foreground: true,
              },
              // One load generator stands for many sites' servers: the per-address /verify limit is lifted.
            ).replace(/(zone=persona_verify:\S+ rate=)\d+r\/s/, '$1100000r/s'),
            edgePorts.https,
          );
        }
        const { fixtures } = fixturesFor(s);
        const bodies = fixtures.map((f) =>
          new URLSearchParams({ assertion: f.backed, audience: RP }).toString(),
        );
        const router = `http://127.0.0.1:${s.config.routerPort}`;
        const pids = {
          router: [s.supervisor.pid('router')!],
          verifier: Array.from({ length: verifiers }, (_, i) =>
            s.supervisor.pid(i === 0 ? 'verifier' : `verifier#${i + 1}`)!,
          ),
          nginx: nginx ? nginxPids(nginx.pid) : [],
        };
        const run = async (base: string) => {
          const lean = process.env.BENCH_CLIENT !== 'undici';
          const drive = (seconds: number) =>
            lean ? leanVerify(base, bodies, 16, seconds) : load(16, seconds, verifyAt(base, bodies));
          await drive(1); // warm-up: connections, JIT
          // The raw limit just before and after: the machine's load changes from minute to minute.
          const rawBefore = rateOf(1, rawOnce);
          const before = {
            router: cpuOf(pids.router),
            verifier: cpuOf(pids.verifier),
            nginx: cpuOf(pids.nginx),
            load: process.cpuUsage(),
          };
          const result = await drive(SECONDS);
          const served = result.rate * result.seconds;
          const loadCpu = process.cpuUsage(before.load);
          const us = {
            router: ((cpuOf(pids.router) - before.router) * 1000) / served,
            verifier: ((cpuOf(pids.verifier) - before.verifier) * 1000) / served,
            nginx: ((cpuOf(pids.nginx) - before.nginx) * 1000) / served,
            load: (loadCpu.user + loadCpu.system) / served,
          };
          return { ...result, raw: (rawBefore + rateOf(1, rawOnce)) / 2, us };
        };
        // One path after the other on the same stack, each beside the raw limit measured around it.
        const viaRouter = await run(router);
        const viaNginx = nginx ? await run(`https://${EDGE_HOST}:${edgePorts.https}`) : undefined;
        return { viaRouter, viaNginx };
      } finally {
        await nginx?.stop();
        await s.stop();
      }
    }

    // The same work in this process, under a domain key of its own (the stacks' are gone with them).
    const issuer = EDGE_HOST;
    const domainKeyPublic = (() => {
      const pair = generateKeypair('RS256');
      return { secret: pair.secretKey, public: pair.publicKey };
    })();
    const local = certified(issuer, domainKeyPublic.secret);
    const raw = local.map((f) => {
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
    const issuerPublic = domainKeyPublic.public.keyObject;
    const rawOnce = (i: number) => {
      const r = raw[i % raw.length]!;
      verify('sha256', r.ci, issuerPublic, r.cs);
      verify('sha1', r.ai, { key: r.key, dsaEncoding: 'ieee-p1363' }, r.as);
    };
    // The verifier's own work without HTTP: parsing, checks and both signatures.
    const directory = {
      publicKeyOf: () => Promise.resolve(domainKeyPublic.public),
      authorityOf: (domain: string) => Promise.resolve(domain),
    };
    const inProcessOnce = async (i: number) => {
      const result = await checkBackedAssertion(local[i % local.length]!.backed, {
        audience: RP,
        directory,
        fallbackIssuer: issuer,
        fallbackKey: domainKeyPublic.public,
      });
      if (!result.ok) throw new Error('in-process verification failed');
    };
    // Trust between tiers: the MAC every call carries now, and the Ed25519 signature it replaced.
    const message = { method: 'POST', url: '/verify', body: 'assertion=x&audience=y' };
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
    const one = await measure(1);
    const two = await measure(2);
    const rawLimit = rateOf(Math.min(3, SECONDS), rawOnce);
    const inProcess = await asyncRateOf(Math.min(3, SECONDS), inProcessOnce);
    const macRate = rateOf(1, macOnce);
    const edRate = rateOf(1, edOnce);

    const us = (rate: number) => `${(1e6 / rate).toFixed(0)} µs`;
    const pct = (r: Run) =>
      `${((100 * r.rate) / r.raw).toFixed(1)} % of the raw limit measured around it (${Math.round(r.raw)}/s)`;
    type Run = Awaited<ReturnType<typeof measure>>['viaRouter'];
    const rateLine = (label: string, r: Run | undefined, base?: Run) => {
      if (!r) {
        line(label, 'no nginx', 'apt-get install nginx to measure the edge path');
        return;
      }
      line(
        label,
        `${Math.round(r.rate)}/s`,
        `${pct(r)}${base ? `, ×${(r.rate / base.rate).toFixed(2)} of 1 verifier` : ''}; p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms`,
      );
    };
    const costLine = (label: string, r: Run | undefined) => {
      if (!r) return;
      const { router, verifier, nginx, load: gen } = r.us;
      const total = router + verifier + nginx + gen;
      line(
        label,
        `${total.toFixed(0)} µs`,
        `verifier ${verifier.toFixed(0)}, router ${router.toFixed(0)}, nginx ${nginx.toFixed(0)}, load generator ${gen.toFixed(0)}; ${Math.round((1e6 * availableParallelism()) / total)}/s if nothing else ran`,
      );
    };
    console.log(
      `/verify (16 kept-alive connections, ${process.env.BENCH_CLIENT === 'undici' ? 'undici' : 'a lean HTTP/1.1 client'}, 200 distinct assertions), each path in turn on the same stack`,
    );
    line('raw crypto limit: RS256 + DS128 verify, one core', `${Math.round(rawLimit)}/s`, us(rawLimit));
    rateLine('1 verifier: client → router → verifier (http)', one.viaRouter);
    rateLine('1 verifier: client → nginx → verifier (https, mTLS)', one.viaNginx);
    rateLine('2 verifiers: via the router', two.viaRouter, one.viaRouter);
    rateLine('2 verifiers: via nginx', two.viaNginx, one.viaNginx);
    console.log('\nCost of one /verify, one core (per request):');
    line('both signature checks (the raw limit)', us(rawLimit));
    line('verification in process: parse, checks, signatures', us(inProcess));
    line('trust between tiers: HMAC sign + check (router → verifier)', us(macRate));
    line(
      'trust between tiers: Ed25519 sign + verify (before)',
      us(edRate),
      `×${(macRate / edRate).toFixed(1)} the MAC`,
    );
    console.log('CPU per request by process (measured, /proc), all processes of the path:');
    costLine('1 verifier, via the router', one.viaRouter);
    costLine('1 verifier, via nginx', one.viaNginx);
    costLine('2 verifiers, via the router', two.viaRouter);
    costLine('2 verifiers, via nginx', two.viaNginx);
    console.log('');
    stack = await startStack({ env: benchEnv });
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
  await stack?.stop();
  await smtp.close();
  pki?.remove();
}
