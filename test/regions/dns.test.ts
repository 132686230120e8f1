/**
 * PowerDNS from `persona ops dns` (issue 15), the real pdns_server: it answers the service's name with
 * every region whose router says ok at /__heartbeat__, drops a region whose router stops answering, and
 * takes it back; a client resolving through it connects to what it answers. The routers here are small
 * stand-ins on the regions' addresses (the drill runs the real tiers).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { loadConfig } from '../../src/config/load.ts';
import { dnsFiles } from '../../src/ops/dns.ts';
import { startPdns, type RunningDns } from '../../src/regions/pdns.ts';
import { agentVia } from '../../src/regions/resolve.ts';
import { regionsOf } from '../../src/topology/regions.ts';
import { missing, POWERDNS } from '../helpers/components.ts';
import { freePort } from '../helpers/stack.ts';

const skip = await missing(POWERDNS);

const regions = regionsOf(2);
let dir: string;
let dns: RunningDns;
let routerPort: number;
const routers = new Map<string, Server>();

/** A stand-in router on a region's address: its heartbeat says ok, `/where` names the region. */
async function startRouter(host: string, name: string): Promise<void> {
  const server = createServer((req, res) => {
    res.end(req.url === '/__heartbeat__' ? 'ok' : `${name} ${req.headers.host ?? ''}`);
  });
  await new Promise<void>((resolve) => server.listen(routerPort, host, resolve));
  routers.set(name, server);
}
async function stopRouter(name: string): Promise<void> {
  const server = routers.get(name);
  routers.delete(name);
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
}

/** Polls until pdns answers exactly `want`; returns how long that took. */
async function until(want: string[], timeoutMs = 40_000): Promise<number> {
  const started = Date.now();
  let last: string[] = [];
  while (Date.now() - started < timeoutMs) {
    last = await dns.answers();
    if (JSON.stringify(last) === JSON.stringify(want)) return Date.now() - started;
    await sleep(250);
  }
  assert.fail(`pdns answered ${last.join(', ') || 'nothing'}, not ${want.join(', ')}`);
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'p15-dns-'));
  routerPort = await freePort();
  const dnsPort = await freePort();
  const config = loadConfig({
    env: {
      PERSONA_PUBLIC_URL: `http://login.persona.test:${routerPort}`,
      PERSONA_ROUTER_PORT: String(routerPort),
    },
  });
  for (const r of regions) await startRouter(r.host, r.name);
  dns = await startPdns(dir, dnsFiles(config, { dir, regions, port: dnsPort, listen: '127.0.0.1' }));
});

after(async () => {
  await dns?.stop();
  for (const name of [...routers.keys()]) await stopRouter(name);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the zone and pdns.conf come from the topology', { skip }, () => {
  const zone = readFileSync(join(dir, 'service.zone'), 'utf8');
  assert.match(zone, /^\$ORIGIN login\.persona\.test\.$/m);
  assert.match(
    zone,
    /^@ 5 IN LUA A "ifurlup\('http:\/\/login\.persona\.test:\d+\/__heartbeat__', \{\{'127\.0\.1\.1', '127\.0\.2\.1'\}\}/m,
  );
  const conf = readFileSync(join(dir, 'pdns.conf'), 'utf8');
  assert.match(conf, /^enable-lua-records=yes$/m);
  assert.match(conf, /^daemon=no$/m);
});

test('pdns answers the regions that are up, drops a lost one and takes it back', { skip }, async () => {
  await until(['127.0.1.1', '127.0.2.1']);
  // dig, as any resolver would ask: both regions with the 5 s TTL. Asked again for a while: on a busy
  // machine one health check can time out and drop a region for an interval between two answers.
  const [host = '', port = ''] = dns.server.split(':');
  const record = (address: string) =>
    new RegExp(`^login\\.persona\\.test\\.\\s+5\\s+IN\\s+A\\s+${address.replaceAll('.', '\\.')}$`, 'm');
  const answered = () =>
    spawnSync('dig', [`@${host}`, '-p', port, '+noall', '+answer', 'login.persona.test', 'A'], {
      encoding: 'utf8',
    }).stdout;
  let dig = answered();
  for (const started = Date.now(); Date.now() - started < 20_000; dig = answered()) {
    if (record('127.0.1.1').test(dig) && record('127.0.2.1').test(dig)) break;
    await sleep(250);
  }
  process.stdout.write(`dig before:\n${dig}`);
  assert.match(dig, record('127.0.1.1'));
  assert.match(dig, record('127.0.2.1'));

  await stopRouter('a');
  const droppedMs = await until(['127.0.2.1']);
  process.stdout.write(`region a left the answers ${droppedMs} ms after its router stopped\n`);

  // A client resolving through pdns reaches only region b now.
  const agent = agentVia(dns.server);
  try {
    for (let i = 0; i < 5; i++) {
      const res = await request(`http://login.persona.test:${routerPort}/where`, { dispatcher: agent });
      assert.equal(await res.body.text(), `b login.persona.test:${routerPort}`);
    }
  } finally {
    await agent.close();
  }

  await startRouter(regions[0]?.host ?? '', 'a');
  await until(['127.0.1.1', '127.0.2.1']);
});
