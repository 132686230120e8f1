/**
 * The relying-party libraries sites used with Persona, pointed at our `/verify` (issue 19): sign-in, a wrong
 * audience, a tampered assertion, and express-persona's default empty audience, which must get the original's
 * 400 "need assertion and audience". Each library talks HTTP to a real verifier tier on loopback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { pino } from 'pino';
import { bundle, certifyPublicKey, createAssertion, generateKeypair } from '../../src/browserid/index.ts';
import { buildVerifier } from '../../src/tiers/verifier/index.ts';

const require = createRequire(import.meta.url);

// ---- the untyped surface of the three libraries -----------------------------------------------------

interface VerifierAnswer {
  status: string;
  email?: string;
  reason?: string;
  issuer?: string;
}
type BrowseridVerify = (opts: {
  url: string;
}) => (
  assertion: string,
  audience: string,
  cb: (err: unknown, email: string | undefined, response?: VerifierAnswer) => void,
) => void;
const browseridVerify = require('browserid-verify') as BrowseridVerify;

type Handler = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;
interface PersonaSite {
  post(path: string, ...handlers: Handler[]): void;
}
const expressPersona = require('express-persona') as (
  app: PersonaSite,
  options: { audience?: string; verifierURI: string },
) => void;

type Done = (err: unknown, user?: unknown) => void;
interface PersonaStrategy {
  authenticate(req: { body: Record<string, string> }): void;
}
const PersonaStrategyClass = require('passport-persona').Strategy as new (
  options: { audience: string; transport: { request: typeof httpRequest } },
  verify: (email: string, issuer: string, done: Done) => void,
) => PersonaStrategy;

// ---- a verifier and assertions ------------------------------------------------------------------------

const ISSUER = 'login.example.org';
const RP = 'https://rp.example';
const domain = generateKeypair('RS256');
const user = generateKeypair('DS128');

function signIn(email: string, audience = RP): string {
  const now = Date.now();
  const cert = certifyPublicKey(
    {
      issuer: ISSUER,
      publicKey: user.publicKey,
      principal: { email },
      issuedAt: now,
      expiresAt: now + 60_000,
    },
    domain.secretKey,
  );
  return bundle([cert], createAssertion({ audience, expiresAt: now + 120_000 }, user.secretKey));
}

/** The assertion's payload rewritten (a later expiry), its signature kept. */
function tampered(backed: string): string {
  const [cert = '', assertion = ''] = backed.split('~');
  const [head, , signature] = assertion.split('.');
  const payload = Buffer.from(JSON.stringify({ exp: Date.now() + 86_400_000, aud: RP })).toString(
    'base64url',
  );
  return `${cert}~${head}.${payload}.${signature}`;
}

async function startVerifier(t: { after(fn: () => unknown): void }): Promise<URL> {
  const { app } = buildVerifier({
    fallbackIssuer: ISSUER,
    fallbackKey: domain.publicKey,
    forcibleIssuers: [],
    directory: {
      publicKeyOf: (issuer) => Promise.reject(new Error(`${issuer} is not a browserid primary`)),
      authorityOf: () => Promise.resolve(null),
    },
    logger: pino({ level: 'silent' }),
  });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(() => app.close());
  return new URL('/verify', base);
}

// ---- browserid-verify ---------------------------------------------------------------------------------

test('browserid-verify 0.1.2: sign-in, wrong audience, tampered assertion, empty audience', async (t) => {
  const verify = browseridVerify({ url: (await startVerifier(t)).href });
  const ask = (assertion: string, audience: string) =>
    new Promise<{ email?: string; response?: VerifierAnswer }>((resolve, reject) =>
      verify(assertion, audience, (err, email, response) =>
        err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve({ email, response }),
      ),
    );
  const backed = signIn('alice@example.com');

  const okay = await ask(backed, RP);
  assert.equal(okay.email, 'alice@example.com');
  assert.equal(okay.response?.status, 'okay');
  assert.equal(okay.response?.issuer, ISSUER);

  const wrongAudience = await ask(backed, 'https://evil.example');
  assert.equal(wrongAudience.email, undefined);
  assert.deepEqual(wrongAudience.response, {
    status: 'failure',
    reason: 'audience mismatch: domain mismatch',
  });

  const forged = await ask(tampered(backed), RP);
  assert.equal(forged.email, undefined);
  assert.deepEqual(forged.response, { status: 'failure', reason: 'bad signature in chain' });

  // The library reads both 200 and 400 answers; the 400 carries the original's reason.
  assert.deepEqual((await ask(backed, '')).response, {
    status: 'failure',
    reason: 'need assertion and audience',
  });
});

// ---- express-persona ----------------------------------------------------------------------------------

/** The site: express's `app.post` and `res.status/json`, all express-persona uses, on node:http. */
async function startSite(
  t: { after(fn: () => unknown): void },
  options: { audience?: string; verifierURI: string },
) {
  const routes = new Map<string, Handler[]>();
  expressPersona({ post: (path, ...handlers) => routes.set(path, handlers) }, options);
  const server = createServer((req, res) => {
    const json = Object.assign(res, {
      status: (code: number) => ((res.statusCode = code), json),
      json: (body: unknown) => res.setHeader('content-type', 'application/json').end(JSON.stringify(body)),
    });
    const chain = req.method === 'POST' ? (routes.get(req.url ?? '') ?? []) : [];
    let i = 0;
    const next = (err?: unknown) => {
      const handler = chain[i++];
      if (err || !handler) res.writeHead(err ? 500 : 404).end();
      else handler(req, json, next);
    };
    next();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const { port } = server.address() as AddressInfo;
  return async (assertion: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/persona/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ assertion }),
    });
    return { status: res.status, body: await res.json() };
  };
}

test('express-persona 0.1.2: sign-in, wrong audience, tampered assertion, and its default empty audience', async (t) => {
  const verifierURI = (await startVerifier(t)).href;
  const backed = signIn('bob@example.com');

  const site = await startSite(t, { audience: RP, verifierURI });
  assert.deepEqual(await site(backed), { status: 200, body: { status: 'okay', email: 'bob@example.com' } });
  assert.deepEqual(await site(tampered(backed)), {
    status: 500,
    body: { status: 'failure', reason: 'bad signature in chain' },
  });

  const otherSite = await startSite(t, { audience: 'https://other.example', verifierURI });
  assert.deepEqual(await otherSite(backed), {
    status: 500,
    body: { status: 'failure', reason: 'audience mismatch: domain mismatch' },
  });

  // A site that forgot the audience option sends "": the original answered "need assertion and audience".
  const forgetful = await startSite(t, { verifierURI });
  assert.deepEqual(await forgetful(backed), {
    status: 500,
    body: { status: 'failure', reason: 'need assertion and audience' },
  });
});

// ---- passport-persona ---------------------------------------------------------------------------------

test('passport-persona 0.2.1: sign-in, wrong audience, tampered assertion', async (t) => {
  const verifier = await startVerifier(t);
  // The strategy always dials verifier.login.persona.org:443; its `transport` option sends that call here.
  const toLocalVerifier = ((
    options: { headers?: Record<string, unknown> },
    cb: (res: IncomingMessage) => void,
  ) =>
    httpRequest(
      {
        ...options,
        host: verifier.hostname,
        port: verifier.port,
        headers: { ...options.headers, host: verifier.host },
      },
      cb,
    )) as typeof httpRequest;

  /** One authentication, driven as passport drives a strategy: it calls exactly one of these. */
  const authenticate = (audience: string, assertion: string) =>
    new Promise<{ outcome: string; user?: unknown; message?: string; status?: number }>((resolve) => {
      const strategy = new PersonaStrategyClass(
        { audience, transport: { request: toLocalVerifier } },
        (email, issuer, done) => done(null, { email, issuer }),
      );
      const run = Object.assign(Object.create(strategy) as PersonaStrategy, {
        success: (user: unknown) => resolve({ outcome: 'success', user }),
        fail: (challenge: { message?: string }, status?: number) =>
          resolve({ outcome: 'fail', message: challenge.message, status }),
        error: (err: Error) => resolve({ outcome: 'error', message: err.message }),
      });
      run.authenticate({ body: { assertion } });
    });
  const backed = signIn('carol@example.com');

  assert.deepEqual(await authenticate(RP, backed), {
    outcome: 'success',
    user: { email: 'carol@example.com', issuer: ISSUER },
  });
  assert.deepEqual(await authenticate('https://evil.example', backed), {
    outcome: 'fail',
    message: 'audience mismatch: domain mismatch',
    status: 403,
  });
  assert.deepEqual(await authenticate(RP, tampered(backed)), {
    outcome: 'fail',
    message: 'bad signature in chain',
    status: 403,
  });
});
