/**
 * The bridge's parts on their own (docs/bridge.md): provider calls go through the egress proxy and fail
 * cleanly in bounded time when it or the provider does not answer; sealed cookies refuse tampering, a
 * cookie replayed under another name, another secret and age; the try counter's window.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { createEgressDispatcher } from '../../src/browserid/egress.ts';
import { WindowCounter } from '../../src/tiers/bridge/alias-codes.ts';
import { createProvider, ProviderError } from '../../src/tiers/bridge/providers.ts';
import { createSealedCookie } from '../../src/tiers/bridge/sealed-cookie.ts';

/** A forward proxy that records the first line of each request and then says nothing (or hangs up). */
async function fakeProxy(hangUp: boolean) {
  const lines: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('data', (chunk) => {
      lines.push(chunk.toString('latin1').split('\r\n')[0] ?? '');
      if (hangUp) socket.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    lines,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const settings = {
  issuer: 'https://accounts.provider.example',
  clientId: 'c',
  clientSecret: 's',
  scopes: ['openid', 'email'],
  emailClaim: 'email',
  verifiedClaim: 'email_verified',
  disabled: false,
};

for (const hangUp of [true, false]) {
  test(`provider calls go through PERSONA_HTTP_PROXY; a proxy that ${hangUp ? 'refuses' : 'never answers'} is a clean outage`, async () => {
    const proxy = await fakeProxy(hangUp);
    const egress = createEgressDispatcher({ proxyUrl: proxy.url, connectTimeoutMs: 1500 });
    const provider = createProvider('provider.example', settings, {
      egress,
      timeoutMs: 1500,
      metadataCacheMs: 60_000,
    });
    const began = Date.now();
    try {
      await assert.rejects(
        provider.begin('https://bridge.example/oidc/callback', 'ann@provider.example'),
        (err: unknown) => err instanceof ProviderError && err.code === 'provider-unavailable',
      );
      assert.ok(Date.now() - began < 10_000, `took ${Date.now() - began} ms`);
      assert.deepEqual(proxy.lines, ['CONNECT accounts.provider.example:443 HTTP/1.1']);
    } finally {
      await provider.close();
      // close() would wait for the tunnel the silent proxy never answers.
      await egress.destroy();
      await proxy.close();
    }
  });
}

test('sealed cookies: round trip; tampered, renamed, other secret or expired → nothing', () => {
  const make = (name: string, secret = 'one secret of enough length') =>
    createSealedCookie<{ email: string }>({ name, secret, ttlMs: 60_000, secure: true });
  const session = make('persona_bridge');
  const header = session.issue({ email: 'ann@mail.example' }, 1000);
  assert.match(header, /; HttpOnly; SameSite=Lax; Secure; Max-Age=60$/);
  const value = header.slice(header.indexOf('=') + 1, header.indexOf(';'));
  assert.deepEqual(session.read(`persona_bridge=${value}`, 2000), { email: 'ann@mail.example' });
  const flipped = `${value.slice(0, 20)}${value[20] === 'A' ? 'B' : 'A'}${value.slice(21)}`;
  assert.equal(session.read(`persona_bridge=${flipped}`, 2000), null);
  assert.equal(make('persona_bridge_code').read(`persona_bridge_code=${value}`, 2000), null);
  assert.equal(make('persona_bridge', 'another secret entirely').read(`persona_bridge=${value}`, 2000), null);
  assert.equal(session.read(`persona_bridge=${value}`, 61_001), null);
  assert.equal(session.read('persona_bridge=%%%', 2000), null);
});

test('the try counter: five per window per address, case-insensitive, a new window starts afresh', () => {
  const counter = new WindowCounter(5, 600_000);
  for (let i = 0; i < 5; i++) assert.equal(counter.take('Ann@mail.example', 1000 + i), true);
  assert.equal(counter.take('ann@MAIL.example', 2000), false);
  assert.equal(counter.take('bob@mail.example', 2000), true);
  assert.equal(counter.take('ann@mail.example', 601_000), true);
});
