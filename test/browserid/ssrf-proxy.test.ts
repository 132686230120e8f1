/**
 * SSRF with the egress proxy (issue 10 item 1, SPEC §4.14), through a real squid. Our client refuses
 * forbidden names and literals before asking the proxy; a public-looking name that squid resolves to an
 * internal address is only visible to squid, so squid's ACLs (SQUID_EGRESS_ACCESS) are the second line.
 * A trap listens on <some 127.x.y.z>:443 and counts connections.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { createDiscovery, type DiscoveryFetch } from '../../src/browserid/discovery.ts';
import { BrowserIdError } from '../../src/browserid/errors.ts';
import { SQUID_EGRESS_ACCESS } from '../../src/browserid/egress.ts';
import { missing } from '../helpers/components.ts';
import { SQUID, startSquid, type Squid } from '../helpers/squid.ts';

const skip = await missing(SQUID);

let squid: Squid;
let trapHost: string;
let trapServer: Server;
let connections = 0;
const sockets = new Set<Socket>();

before(async () => {
  if (skip) return;
  for (let attempt = 0; ; attempt++) {
    trapHost = `127.${randomInt(100, 250)}.${randomInt(0, 256)}.${randomInt(1, 250)}`;
    trapServer = createServer((socket) => {
      connections++;
      sockets.add(socket);
      socket.destroy();
    });
    try {
      await new Promise<void>((resolve, reject) => {
        trapServer.once('error', reject);
        trapServer.listen(443, trapHost, resolve);
      });
      break;
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
  // squid alone knows these names; both lead to the trap.
  squid = await startSquid({ 'inside.test': trapHost, localhost: trapHost }, { access: SQUID_EGRESS_ACCESS });
});

after(async () => {
  if (skip) return;
  await squid.stop();
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => trapServer.close(resolve));
});

test('through squid: forbidden names and literals are refused before squid is asked', { skip }, async () => {
  const discovery = createDiscovery({ proxyUrl: squid.url, timeoutMs: 3000 });
  try {
    for (const domain of ['localhost', trapHost, '0177.0.0.1', '2130706433', '169.254.169.254', '10.1.2.3']) {
      await assert.rejects(discovery.discover(domain), (err: unknown) => {
        assert.ok(err instanceof BrowserIdError);
        assert.equal(err.message, `${domain} is not a browserid primary`);
        return true;
      });
    }
  } finally {
    await discovery.close();
  }
  assert.equal(connections, 0);
  assert.doesNotMatch(squid.accessLog(), /CONNECT/, 'squid was never asked');
});

test(
  'through squid: a name squid resolves to loopback is refused by its ACLs, and the reason stays generic',
  { skip },
  async () => {
    const fetches: DiscoveryFetch[] = [];
    const discovery = createDiscovery({
      proxyUrl: squid.url,
      timeoutMs: 3000,
      onFetch: (f) => fetches.push(f),
    });
    try {
      await assert.rejects(discovery.discover('inside.test'), (err: unknown) => {
        assert.ok(err instanceof BrowserIdError);
        assert.equal(err.message, 'inside.test is not a browserid primary');
        return true;
      });
    } finally {
      await discovery.close();
    }
    assert.equal(connections, 0, 'squid did not connect to the internal address');
    await squid.waitForLog(/TCP_DENIED\/403 \d+ CONNECT inside\.test:443/);
    assert.match(fetches[0]?.error ?? '', /Proxy response \(403\)/);
  },
);
