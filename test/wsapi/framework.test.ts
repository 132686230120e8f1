import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { request } from 'undici';
import { createTierApp } from '../../src/http/app.ts';
import { newCsrfToken, registerWsapi } from '../../src/wsapi/framework.ts';
import { createSessionCodec, generateCookieSecret } from '../../src/wsapi/session.ts';

async function start() {
  const resets = new Map<number, number>([[7, 100]]);
  const codec = createSessionCodec({ secret: generateCookieSecret(), publicUrl: 'http://127.0.0.1:10002' });
  const { app } = createTierApp({ tier: 'webhead', logger: pino({ level: 'silent' }) });
  registerWsapi(
    app,
    {
      codec,
      https: false,
      sessionDurationMs: 28 * 86_400_000,
      ephemeralSessionDurationMs: 3_600_000,
      sessionStanding: async (userid) => {
        const lastPasswordReset = resets.get(userid);
        return lastPasswordReset === undefined ? undefined : { lastPasswordReset, revoked: false };
      },
      revokeSession: async () => undefined,
      internalCallers: ['webhead'],
    },
    {
      session_context: async (ctx) => {
        ctx.session.csrf ??= newCsrfToken();
        return {
          csrf_token: ctx.session.csrf,
          server_time: ctx.now,
          authenticated: ctx.session.userid !== undefined,
          has_password: true,
          domain_key_creation_time: 0,
          random_seed: '',
          data_sample_rate: 0,
          cookies: true,
          userid: ctx.session.userid,
        };
      },
      authenticate_user: async (ctx) => {
        ctx.authenticate(7, 'password', resets.get(7) ?? 0, ctx.args.ephemeral);
        return { success: true, userid: 7, suppress_ask_if_users_computer: false };
      },
      auth_with_assertion: async (ctx) => {
        ctx.authenticate(7, 'assertion', resets.get(7) ?? 0, false);
        return { success: true, userid: 7, suppress_ask_if_users_computer: false };
      },
      list_emails: async () => ({ success: true, emails: ['a@example.com'] }),
      cert_key: async () => 'a.certificate.here',
      logout: async (ctx) => {
        ctx.logout();
        return { success: true };
      },
      saw_idp: async () => ({ success: true }),
    },
  );
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base, codec, resets };
}

/** A browser: keeps the session cookie between calls. */
function browser(base: string, cookieName: string) {
  let cookie = '';
  const call = async (method: 'GET' | 'POST', op: string, body?: Record<string, unknown>) => {
    const res = await request(`${base}/wsapi/${op}`, {
      method,
      headers: { cookie, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const set = res.headers['set-cookie'];
    if (typeof set === 'string' && set.startsWith(`${cookieName}=`)) cookie = set.split(';')[0]!;
    const text = await res.body.text();
    return {
      status: res.statusCode,
      headers: res.headers,
      text,
      json: () => JSON.parse(text) as Record<string, unknown>,
    };
  };
  return { call, cookie: () => cookie };
}

test('session_context mints a CSRF token in an HttpOnly cookie scoped to /wsapi; wsapi answers are never cached', async (t) => {
  const { app, base, codec } = await start();
  t.after(() => app.close());
  const res = await request(`${base}/wsapi/session_context`);
  assert.equal(res.headers['cache-control'], 'no-cache, max-age=0');
  assert.match(
    String(res.headers['set-cookie']),
    new RegExp(`^${codec.name}=[^;]+; Path=/wsapi; Expires=[^;]+; HttpOnly; SameSite=Lax$`),
  );
  const body = (await res.body.json()) as Record<string, unknown>;
  assert.match(String(body.csrf_token), /^[A-Za-z0-9+/]{22}==$/);
});

test('POST needs the session CSRF token: none is 403, a wrong one 400; GETs are not checked', async (t) => {
  const { app, base, codec } = await start();
  t.after(() => app.close());
  const b = browser(base, codec.name);
  const noCookie = await b.call('POST', 'authenticate_user', {
    email: 'a@example.com',
    pass: 'password1',
    ephemeral: false,
  });
  assert.equal(noCookie.status, 403);
  assert.equal(noCookie.text, 'Forbidden: no cookie');
  const { csrf_token: csrf } = (await b.call('GET', 'session_context')).json();
  const wrong = await b.call('POST', 'authenticate_user', {
    email: 'a@example.com',
    pass: 'password1',
    ephemeral: false,
    csrf: 'x',
  });
  assert.equal(wrong.status, 400);
  assert.equal(wrong.text, 'Bad Request: CSRF violation');
  const right = await b.call('POST', 'authenticate_user', {
    email: 'a@example.com',
    pass: 'password1',
    ephemeral: false,
    csrf,
  });
  assert.equal(right.status, 200);
});

test('validation: missing, wrong and extra parameters are 400 {success:false, reason}', async (t) => {
  const { app, base, codec } = await start();
  t.after(() => app.close());
  const b = browser(base, codec.name);
  const { csrf_token: csrf } = (await b.call('GET', 'session_context')).json();
  const cases: [Record<string, unknown>, string][] = [
    [{ csrf, pass: 'password1', ephemeral: false }, "missing required parameter: 'email'"],
    [{ csrf, email: 'nope', pass: 'password1', ephemeral: false }, 'email: not a valid email address'],
    [
      { csrf, email: 'a@example.com', pass: 'short', ephemeral: false },
      'pass: must be a string of 8 to 80 characters',
    ],
    [
      { csrf, email: 'a@example.com', pass: 'x'.repeat(81), ephemeral: false },
      'pass: must be a string of 8 to 80 characters',
    ],
    [
      { csrf, email: 'a@example.com', pass: 'password1', ephemeral: 'false' },
      'ephemeral: must be a boolean value',
    ],
    [
      { csrf, email: 'a@example.com', pass: 'password1', ephemeral: false, admin: 1, x: 2 },
      'extra parameters are not allowed: admin, x',
    ],
  ];
  for (const [body, reason] of cases) {
    const res = await b.call('POST', 'authenticate_user', body);
    assert.equal(res.status, 400, reason);
    assert.deepEqual(res.json(), { success: false, reason });
  }
});

test('auth levels; sessions never downgrade; a password change elsewhere ends the session; logout keeps CSRF', async (t) => {
  const { app, base, codec, resets } = await start();
  t.after(() => app.close());
  const b = browser(base, codec.name);
  const { csrf_token: csrf } = (await b.call('GET', 'session_context')).json();
  const anonymous = await b.call('GET', 'list_emails');
  assert.equal(anonymous.status, 400);
  assert.equal(anonymous.text, 'Bad Request: requires authentication');

  await b.call('POST', 'auth_with_assertion', { csrf, assertion: 'a'.repeat(60), ephemeral: false });
  assert.equal((await b.call('GET', 'list_emails')).status, 200, 'assertion level is enough');
  const certKey = await b.call('POST', 'cert_key', {
    csrf,
    email: 'a@example.com',
    pubkey: JSON.stringify({ x: 'y'.repeat(60) }),
    ephemeral: false,
  });
  assert.equal(certKey.status, 400, 'cert_key needs the password level');

  const login = await b.call('POST', 'authenticate_user', {
    csrf,
    email: 'a@example.com',
    pass: 'password1',
    ephemeral: true,
  });
  assert.equal(login.status, 200);
  assert.equal(b.cookie().split('.')[3], '3600000', 'an ephemeral session lasts an hour');
  await b.call('POST', 'auth_with_assertion', { csrf, assertion: 'a'.repeat(60), ephemeral: false });
  const stillPassword = await b.call('POST', 'cert_key', {
    csrf,
    email: 'a@example.com',
    pubkey: JSON.stringify({ x: 'y'.repeat(60) }),
    ephemeral: false,
  });
  assert.equal(stillPassword.status, 200, 'an assertion login does not lower a password session');

  resets.set(7, 200); // the password changed in another browser
  const after = await b.call('GET', 'session_context');
  assert.deepEqual(
    { authenticated: after.json().authenticated, userid: after.json().userid },
    { authenticated: false, userid: undefined },
  );

  await b.call('POST', 'authenticate_user', {
    csrf: after.json().csrf_token,
    email: 'a@example.com',
    pass: 'password1',
    ephemeral: false,
  });
  resets.set(7, 200);
  const csrf2 = (await b.call('GET', 'session_context')).json().csrf_token;
  await b.call('POST', 'logout', { csrf: csrf2 });
  const out = (await b.call('GET', 'session_context')).json();
  assert.equal(out.authenticated, false);
  assert.equal(out.csrf_token, csrf2, 'logout keeps the CSRF token');
});

test('internal ops answer only the allowed tiers', async (t) => {
  const { app, base } = await start();
  t.after(() => app.close());
  const res = await request(`${base}/wsapi/saw_idp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"domain":"x.example"}',
  });
  assert.equal(res.statusCode, 404);
  assert.equal(await res.body.text(), 'Not Found: no such api');
});
