/**
 * Protocol edges (issue 10 item 8), on raw TCP against a real tier (the verifier): a 431 answer to HEAD
 * carried a body (and so did every other answer Node's parser makes before Fastify sees a request), and a
 * request body trickled one byte every 2 s was never timed out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { REQUEST_TIMEOUT_MS } from '../../src/http/app.ts';
import { buildVerifier } from '../../src/tiers/verifier/index.ts';
import { generateKeypair } from '../../src/browserid/keys.ts';
import { bundle, createAssertion } from '../../src/browserid/assertion.ts';
import { certifyPublicKey } from '../../src/browserid/certificate.ts';

async function startVerifier(publicKeyOf = (issuer: string) => Promise.reject(new Error(issuer))) {
  const { app } = buildVerifier({
    fallbackIssuer: 'login.example.org',
    forcibleIssuers: [],
    directory: { publicKeyOf, authorityOf: () => Promise.resolve(null) },
    logger: pino({ level: 'silent' }),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { app, port: address.port };
}

interface Exchange {
  readonly socket: Socket;
  /** Everything the server sent until it closed the connection (or `ms` passed). */
  readonly reply: Promise<{ text: string; closed: boolean; ms: number }>;
}

/** A raw connection that sends `head` at once and collects the answer until the server closes it. */
function open(port: number, head: string, ms = 20_000): Exchange {
  const socket = connect(port, '127.0.0.1');
  socket.write(head);
  const started = performance.now();
  const reply = new Promise<{ text: string; closed: boolean; ms: number }>((resolve) => {
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false, ms: performance.now() - started });
    }, ms);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true, ms: performance.now() - started });
    });
  });
  return { socket, reply };
}

/** The status and what follows the header block of a single raw HTTP answer. */
function parse(text: string): { status: number; headers: string; body: string } {
  const end = text.indexOf('\r\n\r\n');
  assert.ok(end > 0, `no complete header block in ${JSON.stringify(text)}`);
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]),
    headers: text.slice(0, end),
    body: text.slice(end + 4),
  };
}

test('HEAD answers carry no body: 431, 400 from the parser, and errors from the app', async (t) => {
  const { app, port } = await startVerifier();
  t.after(() => app.close());
  const huge = `X-Junk: ${'a'.repeat(20_000)}\r\n`;
  const cases: [string, number][] = [
    [`HEAD /verify HTTP/1.1\r\nHost: v\r\n${huge}\r\n`, 431],
    [`HEAD / HTTP/1.1\r\nHost: v\r\nBad Header Line\r\n\r\n`, 400],
    [`HEAD /nowhere HTTP/1.1\r\nHost: v\r\nConnection: close\r\n\r\n`, 404],
    [`HEAD /__heartbeat__ HTTP/1.1\r\nHost: v\r\nConnection: close\r\n\r\n`, 200],
  ];
  for (const [head, status] of cases) {
    const { text, closed } = await open(port, head, 5000).reply;
    const answer = parse(text);
    assert.equal(answer.status, status, text.slice(0, 200));
    assert.equal(answer.body, '', `HEAD answered ${status} with a body: ${JSON.stringify(answer.body)}`);
    assert.ok(closed, 'the server closed the connection');
  }
  // GET's 431 is the same status line (the parser cannot tell the method), again without a body.
  const get = parse((await open(port, `GET /verify HTTP/1.1\r\nHost: v\r\n${huge}\r\n`, 5000).reply).text);
  assert.equal(get.status, 431);
  assert.match(get.headers, /Content-Length: 0/i);
});

test('a body trickled one byte every 2 s gets 408 and the connection closes; a slow answer does not', async (t) => {
  // The issuer lookup of a valid-looking assertion takes longer than the request timeout.
  const slowLookup = (issuer: string) =>
    sleep(REQUEST_TIMEOUT_MS + 1500).then(() =>
      Promise.reject(new Error(`${issuer} is not a browserid primary`)),
    );
  const { app, port } = await startVerifier(slowLookup);
  t.after(() => app.close());
  assert.equal(app.server.requestTimeout, REQUEST_TIMEOUT_MS);

  const body = 'assertion=x&audience=https%3A%2F%2Frp.example';
  const trickle = open(
    port,
    `POST /verify HTTP/1.1\r\nHost: v\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n`,
    REQUEST_TIMEOUT_MS + 8000,
  );
  let sent = 0;
  const dripping = setInterval(() => {
    if (sent < body.length && trickle.socket.writable) trickle.socket.write(body[sent++] ?? '');
  }, 2000);

  // Meanwhile a request that arrives at once but is answered after the timeout is still answered.
  const user = generateKeypair('RS256');
  const issuer = generateKeypair('RS256');
  const now = Date.now();
  const cert = certifyPublicKey(
    {
      issuer: 'slow.example',
      publicKey: user.publicKey,
      principal: { email: 'a@slow.example' },
      issuedAt: now - 1000,
      expiresAt: now + 600_000,
    },
    issuer.secretKey,
  );
  const assertion = bundle(
    [cert],
    createAssertion({ audience: 'https://rp.example', expiresAt: now + 600_000 }, user.secretKey),
  );
  const slowBody = JSON.stringify({ assertion, audience: 'https://rp.example' });
  const slow = open(
    port,
    `POST /verify HTTP/1.1\r\nHost: v\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(slowBody)}\r\n\r\n${slowBody}`,
    REQUEST_TIMEOUT_MS + 8000,
  );

  const [trickled, answered] = await Promise.all([trickle.reply, slow.reply]);
  clearInterval(dripping);
  const timedOut = parse(trickled.text);
  assert.equal(timedOut.status, 408, trickled.text);
  assert.equal(timedOut.body, '');
  assert.ok(trickled.closed, 'the trickling connection was closed');
  assert.ok(sent < body.length, 'cut off before the body was complete');
  assert.ok(trickled.ms < REQUEST_TIMEOUT_MS + 3000, `408 after ${Math.round(trickled.ms)} ms`);

  const late = parse(answered.text);
  assert.equal(late.status, 200, answered.text);
  assert.match(late.body, /can't get public key for slow\.example/);
  assert.ok(answered.ms > REQUEST_TIMEOUT_MS, `answered after ${Math.round(answered.ms)} ms`);
});
