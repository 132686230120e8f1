/**
 * `npm run bench:floor`: how close to the bcrypt-bound limit any Node service could come on this machine.
 *
 * At a share f of the limit, bcrypt takes f of every core by definition (the limit is the compares/s
 * measured with every core busy), so (1 − f) of the cores are left for everything else: the mix's HTTP
 * requests, and the load generator that makes them. This bench measures the least a request can cost
 * here, with nothing of Persona in it: a bare node:http server answering a fixed JSON the size of a
 * session_context, with no session, database, log or metric, driven by a raw-socket client; then the
 * same behind a bare node:http relay (the router's hop) and behind nginx (the edge, when installed);
 * then this service itself, router and webhead as production runs them. The load is offered the way the
 * loadgen offers it: at the request rate the mix asks at 85 % of the limit, spread over one kept-alive
 * connection per device (`--pool 200`, two devices each), each from its own 127.x address.
 *
 * From the floor h (CPU seconds per request) and the mix's requests per active user per second r, the
 * most any implementation could reach is f* = C / (C + L·r·h) of the limit L on C cores; requests are
 * counted low (only include.js-only visits and sign-ins with a certificate, 97 % of the mix), so f* is
 * an upper bound.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { connect } from 'node:net';
import { ACTIVITIES_PER_USER_SECOND, ACTIVITY_WEIGHTS, bcryptBoundUsers } from '../src/loadgen/model.ts';
import { measureBcrypt } from '../src/loadgen/run.ts';
import { freePort, startStack } from '../test/helpers/stack.ts';
import { NGINX, nginxPrefix, startNginx, type Nginx } from '../test/helpers/nginx.ts';
import { cpuOf, nginxPids } from './proc.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const COST = Number(process.env.BENCH_BCRYPT_COST ?? 12);
const DEVICES = Number(process.env.BENCH_DEVICES ?? 400);
const TARGET = 0.85;

/**
 * Requests each visit makes at least (src/loadgen/activities.ts): include.js and session_context; a
 * sign-in holding a session and a certificate asks session_context, list_emails and /verify. The other
 * kinds (3 % of visits, more requests each) and cert_key renewals are left out: the count is a floor.
 */
const REQUESTS = ACTIVITY_WEIGHTS.include_only * 2 + ACTIVITY_WEIGHTS.signin * 3;

const BODY = JSON.stringify({
  csrf_token: 'x'.repeat(24),
  server_time: Date.now(),
  authenticated: true,
  auth_level: 'password',
  userid: 4242,
  has_password: true,
  domain_key_creation_time: Date.now(),
  code_version: 'f'.repeat(12),
  data_sample_rate: 0,
});

/** A bare server: reads the request, answers BODY. */
const SERVER = `
import { createServer } from 'node:http';
const body = Buffer.from(process.env.BODY);
createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
    res.end(body);
  });
}).listen(Number(process.env.PORT), '127.0.0.1', () => process.send('up'));
`;

/** A bare relay: each request passed on over kept-alive connections, the answer streamed back. */
const RELAY = `
import { createServer, request, Agent } from 'node:http';
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
createServer((req, res) => {
  const upstream = request(
    { host: '127.0.0.1', port: Number(process.env.UPSTREAM), method: req.method, path: req.url, headers: req.headers, agent },
    (answer) => { res.writeHead(answer.statusCode, answer.headers); answer.pipe(res); },
  );
  req.pipe(upstream);
}).listen(Number(process.env.PORT), '127.0.0.1', () => process.send('up'));
`;

/** nginx relaying to `upstream` over kept-alive connections, one worker, no access log. */
const nginxRelay = (dir: string, port: number, upstream: number) => `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
events { worker_connections 2048; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  upstream bare { server 127.0.0.1:${upstream}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 100000;
    location / { proxy_pass http://bare; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`;

async function start(code: string, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    env: { ...process.env, ...env, BODY },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (status) => reject(new Error(`bare server exited (${status})`)));
  });
  return child;
}

/** What a device asks next: its request's bytes, given its cookie (undefined until it was given one). */
type NextRequest = (host: string, cookie: string | undefined) => Buffer;

/** Every request a session_context, as the bare servers are asked. */
const sessionContext: NextRequest = (host, cookie) =>
  Buffer.from(
    `GET /wsapi/session_context HTTP/1.1\r\nHost: ${host}\r\n${cookie ? `Cookie: ${cookie}\r\n` : ''}\r\n`,
  );

/** A visit's pair, alternately: include.js, then session_context with the device's session cookie. */
const visit = (): NextRequest => {
  let turn = 0;
  return (host, cookie) =>
    turn++ % 2 === 0
      ? Buffer.from(`GET /include.js HTTP/1.1\r\nHost: ${host}\r\n\r\n`)
      : sessionContext(host, cookie);
};

/**
 * Offers `rate` requests/s for SECONDS over DEVICES kept-alive connections, each from its own loopback
 * address, each sending its next request a random gap after its answer (the mean gap keeps the rate).
 * A device keeps the first cookie it is given, as a browser does.
 */
async function offer(
  port: number,
  rate: number,
  next: () => NextRequest,
): Promise<{ served: number; failed: number; seconds: number }> {
  const meanGap = (DEVICES / rate) * 1000;
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  const host = `127.0.0.1:${port}`;
  let served = 0;
  let failed = 0;
  await Promise.all(
    Array.from(
      { length: DEVICES },
      (_, i) =>
        new Promise<void>((resolve, reject) => {
          const ask = next();
          let cookie: string | undefined;
          const socket = connect({
            port,
            host: '127.0.0.1',
            localAddress: `127.3.${i >> 7}.${(i & 127) + 1}`,
          });
          socket.setNoDelay(true);
          let buffered = '';
          socket.on('error', reject);
          socket.on('data', (chunk: Buffer) => {
            buffered += chunk.toString('latin1');
            const headEnd = buffered.indexOf('\r\n\r\n');
            if (headEnd < 0) return;
            const head = buffered.slice(0, headEnd);
            const length = /\r\ncontent-length: *(\d+)/i.exec(head);
            if (!length) return reject(new Error(`an answer without a length: ${head}`));
            const total = headEnd + 4 + Number(length[1]);
            if (buffered.length < total) return;
            buffered = buffered.slice(total);
            if (head.startsWith('HTTP/1.1 200')) served++;
            else failed++;
            cookie ??= /\r\nset-cookie: *([^;\r]+)/i.exec(head)?.[1];
            if (performance.now() >= deadline) {
              socket.end();
              resolve();
            } else setTimeout(() => socket.write(ask(host, cookie)), meanGap * (0.5 + Math.random()));
          });
          setTimeout(() => socket.write(ask(host, cookie)), Math.random() * meanGap);
        }),
    ),
  );
  return { served, failed, seconds: (performance.now() - started) / 1000 };
}

/** CPU µs per answered request of each group of processes while `rate` is offered to `port`. */
async function measure(
  port: number,
  rate: number,
  pids: Record<string, readonly number[]>,
  next: () => NextRequest = () => sessionContext,
) {
  const before = Object.fromEntries(Object.entries(pids).map(([name, group]) => [name, cpuOf(group)]));
  const { served, failed, seconds } = await offer(port, rate, next);
  if (failed > served / 100) throw new Error(`${failed} of ${served + failed} requests failed`);
  const perRequest = Object.fromEntries(
    Object.entries(pids).map(([name, group]) => [name, ((cpuOf(group) - before[name]!) * 1000) / served]),
  );
  const total = Object.values(perRequest).reduce((a, b) => a + b, 0);
  return { rate: served / seconds, perRequest, total };
}

const line = (label: string, value: string, note = '') =>
  console.log(`  ${label.padEnd(64)} ${value.padStart(12)}   ${note}`);

const cores = availableParallelism();
console.log(
  `bench:floor: ${cores} cores, bcrypt cost ${COST}, ${SECONDS} s per figure, ${DEVICES} devices\n`,
);

const compares = await measureBcrypt(COST, 3);
const limit = bcryptBoundUsers(compares);
const requestsPerUserSecond = ACTIVITIES_PER_USER_SECOND * REQUESTS;
const rateAtTarget = TARGET * limit * requestsPerUserSecond;
const budgetUs = (((1 - TARGET) * cores) / rateAtTarget) * 1e6;

console.log('The mix at 85 % of the bcrypt-bound limit:');
line('bcrypt compares/s, every core busy', compares.toFixed(1));
line('bcrypt-bound limit, active users', Math.round(limit).toLocaleString('en'));
line('requests per visit (a floor)', REQUESTS.toFixed(2));
line('requests/s at 85 % of the limit', rateAtTarget.toFixed(0));
line(
  'CPU left per request at 85 % (15 % of the cores)',
  `${budgetUs.toFixed(0)} µs`,
  'server, relay and client together',
);

const serverPort = await freePort();
const relayPort = await freePort();
const server = await start(SERVER, { PORT: String(serverPort) });
const relay = await start(RELAY, { PORT: String(relayPort), UPSTREAM: String(serverPort) });
let nginx: { server: Nginx; port: number } | undefined;
if (!NGINX.present()) console.log(`\n  (nginx is not installed: ${NGINX.install} adds the edge's line)`);
else {
  const dir = nginxPrefix();
  const port = await freePort();
  nginx = { server: await startNginx(dir, nginxRelay(dir, port, serverPort), port), port };
}
try {
  const ceiling = (us: number) => cores / (cores + limit * requestsPerUserSecond * us * 1e-6);
  const runs: [string, Awaited<ReturnType<typeof measure>>][] = [];
  runs.push([
    'bare server, raw client',
    await measure(serverPort, rateAtTarget, { server: [server.pid!], client: [process.pid] }),
  ]);
  runs.push([
    'a bare node:http relay in front (the router hop)',
    await measure(relayPort, rateAtTarget, {
      server: [server.pid!],
      relay: [relay.pid!],
      client: [process.pid],
    }),
  ]);
  if (nginx) {
    // The one worker; the master only waits.
    const worker = nginxPids(nginx.server.pid).slice(1);
    runs.push([
      'nginx in front (the edge)',
      await measure(nginx.port, rateAtTarget, {
        server: [server.pid!],
        nginx: worker,
        client: [process.pid],
      }),
    ]);
  }

  // Ours: the same load on the real stack (router, webhead; SQLite), half of it include.js and half
  // session_context on a session, as the visits that make up three quarters of the mix ask them.
  server.kill();
  // As production runs it (prebuilt bundles, its limits); no mail is sent by these requests.
  const stack = await startStack({
    env: { PERSONA_ENV: 'production', PERSONA_SMTP_URL: 'smtp://127.0.0.1:9', PERSONA_LOG_LEVEL: 'warn' },
  });
  try {
    const port = Number(new URL(stack.base).port);
    const tier = (name: string) => [stack.supervisor.pid(name)!];
    runs.push([
      'this service: include.js + session_context via the router',
      await measure(
        port,
        rateAtTarget,
        { router: tier('router'), webhead: tier('webhead'), client: [process.pid] },
        visit,
      ),
    ]);
  } finally {
    await stack.stop();
  }

  console.log('\nThe least a request costs here (CPU µs per request, served at the rate above):');
  for (const [label, m] of runs) {
    const parts = Object.entries(m.perRequest)
      .map(([name, us]) => `${name} ${us.toFixed(0)}`)
      .join(', ');
    line(label, `${m.total.toFixed(0)} µs`, `${parts} (${m.rate.toFixed(0)}/s)`);
  }
  console.log('\nThe most each could reach here if it did nothing else, share of the bcrypt-bound limit:');
  for (const [label, m] of runs)
    line(
      label,
      `${(ceiling(m.total) * 100).toFixed(0)} %`,
      `×${(m.total / budgetUs).toFixed(2)} of what 85 % leaves per request`,
    );
} finally {
  server.kill();
  relay.kill();
  await nginx?.server.stop();
}
