import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { request } from 'undici';
import { bundle, certifyPublicKey, createAssertion, generateKeypair } from '../../src/browserid/index.ts';
import { buildVerifier } from '../../src/tiers/verifier/index.ts';

const persona = generateKeypair('RS256');
const user = generateKeypair('DS128');
const RP = 'https://rp.example';

function backed(
  principal: { email?: string; unverifiedEmail?: string },
  issuer = 'login.example.org',
  audience = RP,
) {
  const now = Date.now();
  const cert = certifyPublicKey(
    { issuer, publicKey: user.publicKey, principal, issuedAt: now, expiresAt: now + 60_000 },
    persona.secretKey,
  );
  return bundle([cert], createAssertion({ audience, expiresAt: now + 60_000 }, user.secretKey));
}

async function start() {
  const { app } = buildVerifier({
    fallbackIssuer: 'login.example.org',
    fallbackKey: persona.publicKey,
    forcibleIssuers: ['fxos.example.org'],
    directory: {
      publicKeyOf: (issuer) => Promise.reject(new Error(`${issuer} is not a browserid primary`)),
      authorityOf: () => Promise.resolve(null),
    },
    logger: pino({ level: 'silent' }),
  });
  return { app, base: await app.listen({ port: 0, host: '127.0.0.1' }) };
}

const post = (url: string, contentType: string | undefined, body: string | undefined) =>
  request(url, { method: 'POST', headers: contentType ? { 'content-type': contentType } : {}, body });

test('POST /verify answers okay from a form, a JSON body or the query string, and on POST / too', async (t) => {
  const { app, base } = await start();
  t.after(() => app.close());
  const assertion = backed({ email: 'alice@example.com' });
  const expectOkay = async (res: Awaited<ReturnType<typeof request>>) => {
    assert.equal(res.statusCode, 200);
    const body = (await res.body.json()) as Record<string, unknown>;
    assert.equal(body.status, 'okay');
    assert.equal(body.email, 'alice@example.com');
    assert.equal(body.audience, RP);
    assert.equal(body.issuer, 'login.example.org');
    assert.equal(typeof body.expires, 'number');
  };
  await expectOkay(
    await post(
      `${base}/verify`,
      'application/x-www-form-urlencoded',
      new URLSearchParams({ assertion, audience: RP }).toString(),
    ),
  );
  await expectOkay(
    await post(
      `${base}/verify`,
      'application/json; charset=utf-8',
      JSON.stringify({ assertion, audience: RP }),
    ),
  );
  await expectOkay(
    await post(
      `${base}/verify?${new URLSearchParams({ assertion, audience: RP }).toString()}`,
      undefined,
      undefined,
    ),
  );
  await expectOkay(
    await post(
      `${base}/?audience=${encodeURIComponent(RP)}`,
      'application/json',
      JSON.stringify({ assertion }),
    ),
  );
});

test('failures are 200 with a reason; missing parameters 400; another body type 415', async (t) => {
  const { app, base } = await start();
  t.after(() => app.close());
  const wrongAudience = await post(
    `${base}/verify`,
    'application/json',
    JSON.stringify({ assertion: backed({ email: 'a@example.com' }), audience: 'https://evil.example' }),
  );
  assert.equal(wrongAudience.statusCode, 200);
  assert.deepEqual(await wrongAudience.body.json(), {
    status: 'failure',
    reason: 'audience mismatch: domain mismatch',
  });
  const missing = await post(`${base}/verify`, 'application/json', JSON.stringify({ audience: RP }));
  assert.equal(missing.statusCode, 400);
  assert.deepEqual(await missing.body.json(), { status: 'failure', reason: 'need assertion and audience' });
  const text = await post(`${base}/verify`, 'text/plain', 'assertion=x');
  assert.equal(text.statusCode, 415);
  assert.deepEqual(await text.body.json(), {
    status: 'failure',
    reason: 'Content-Type expected to be one of: application/x-www-form-urlencoded, application/json',
  });
  const garbage = await post(
    `${base}/verify`,
    'application/json',
    JSON.stringify({ assertion: 'x~y', audience: RP }),
  );
  assert.deepEqual(await garbage.body.json(), { status: 'failure', reason: 'malformed signature' });
});

test('unverified addresses only with experimental_allowUnverified=true ("false" means false); forced issuers only when forcible', async (t) => {
  const { app, base } = await start();
  t.after(() => app.close());
  const assertion = backed({ unverifiedEmail: 'u@example.com' });
  const ask = async (extra: Record<string, unknown>) =>
    (await (
      await post(`${base}/verify`, 'application/json', JSON.stringify({ assertion, audience: RP, ...extra }))
    ).body.json()) as Record<string, unknown>;
  assert.deepEqual(await ask({}), { status: 'failure', reason: 'unverified email' });
  assert.deepEqual(await ask({ experimental_allowUnverified: 'false' }), {
    status: 'failure',
    reason: 'unverified email',
  });
  const allowed = await ask({ experimental_allowUnverified: true });
  assert.equal(allowed.status, 'okay');
  assert.equal(allowed['unverified-email'], 'u@example.com');
  assert.equal(allowed.email, undefined);

  const fxos = backed({ email: 'f@other.example' }, 'fxos.example.org');
  const forced = (await (
    await post(
      `${base}/verify`,
      'application/json',
      JSON.stringify({ assertion: fxos, audience: RP, experimental_forceIssuer: 'fxos.example.org' }),
    )
  ).body.json()) as Record<string, unknown>;
  assert.equal(forced.status, 'okay');
  const notForcible = backed({ email: 'f@other.example' }, 'rogue.example.org');
  const refused = (await (
    await post(
      `${base}/verify`,
      'application/json',
      JSON.stringify({ assertion: notForcible, audience: RP, experimental_forceIssuer: 'rogue.example.org' }),
    )
  ).body.json()) as Record<string, unknown>;
  assert.equal(refused.status, 'failure');
  assert.match(String(refused.reason), /^can't get public key for rogue\.example\.org/);
});

test("the original's wire: empty is missing, a non-empty query value wins, and its reasons for odd input", async (t) => {
  const { app, base } = await start();
  t.after(() => app.close());
  const assertion = backed({ email: 'alice@example.com' });
  const json = async (url: string, body: unknown) => {
    const res = await post(url, 'application/json', JSON.stringify(body));
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  };
  const need = { status: 400, body: { status: 'failure', reason: 'need assertion and audience' } };
  // `!(assertion && audience)`: express-persona's default audience is "".
  assert.deepEqual(await json(`${base}/verify`, { assertion, audience: '' }), need);
  assert.deepEqual(await json(`${base}/verify`, { assertion: '', audience: RP }), need);
  const emptyForm = await post(
    `${base}/verify`,
    'application/x-www-form-urlencoded',
    new URLSearchParams({ assertion, audience: '' }).toString(),
  );
  assert.equal(emptyForm.statusCode, 400);

  // A non-empty query value is preferred over the body's; an empty one gives way to it.
  const fromQuery = await json(`${base}/verify?audience=${encodeURIComponent(RP)}`, {
    assertion,
    audience: 'https://evil.example',
  });
  assert.equal(fromQuery.body.status, 'okay', JSON.stringify(fromQuery.body));
  assert.equal(fromQuery.body.audience, RP);
  const emptyQuery = await json(`${base}/verify?audience=`, { assertion, audience: RP });
  assert.equal(emptyQuery.body.status, 'okay', JSON.stringify(emptyQuery.body));

  const failure = (reason: string) => ({ status: 200, body: { status: 'failure', reason } });
  assert.deepEqual(
    await json(`${base}/verify`, { assertion: 777, audience: RP }),
    failure('malformed backed assertion'),
  );
  assert.deepEqual(
    await json(`${base}/verify`, { assertion: `${assertion}gunk`, audience: RP }),
    failure('malformed signature'),
  );
  assert.deepEqual(
    await json(`${base}/verify`, { assertion, audience: ':8080' }),
    failure('audience mismatch: domain missing'),
  );
  // The reference is silent on a non-string audience: the nearest of its reasons.
  assert.deepEqual(await json(`${base}/verify`, { assertion, audience: 443 }), failure('malformed domain'));
});
