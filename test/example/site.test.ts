/**
 * The example site over real HTTP against the real stack: its /api/login has Persona's /verify check a real
 * assertion for the site's own origin, refuses assertions for other audiences and garbage with a clear
 * message, and keeps an HttpOnly, SameSite=Lax, HMAC-signed cookie that forgeries do not pass.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { request } from 'undici';
import { buildExampleSite, type ExampleSite } from '../../src/example/site.ts';
import { createSignedCookie } from '../../src/example/signed-cookie.ts';
import { assertionFor, signUp } from '../helpers/flows.ts';
import type { Browser } from '../helpers/browser.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp.ts';
import { freePort, startStack, type Stack } from '../helpers/stack.ts';

let smtp: SmtpSink;
let stack: Stack;
let site: ExampleSite;
let alice: Browser;
const ALICE = 'alice@example.com';

before(async () => {
  smtp = await startSmtpSink();
  stack = await startStack({ env: { PERSONA_SMTP_URL: smtp.url } });
  const port = await freePort();
  site = buildExampleSite({
    personaUrl: stack.base,
    origin: `http://127.0.0.1:${port}`,
    logger: pino({ level: 'silent' }),
  });
  await site.app.listen({ host: '127.0.0.1', port });
  alice = await signUp(stack.base, smtp, ALICE);
});
after(async () => {
  await site.app.close();
  await stack.stop();
  await smtp.close();
});

interface Answer {
  status: number;
  json: Record<string, unknown>;
  setCookie: string | undefined;
}

async function call(
  method: 'GET' | 'POST',
  path: string,
  options: { body?: unknown; cookie?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const res = await request(`${site.origin}${path}`, {
    method,
    headers: {
      ...(options.body !== undefined ? { 'content-type': 'application/json', origin: site.origin } : {}),
      ...(options.cookie !== undefined ? { cookie: options.cookie } : {}),
      ...options.headers,
    },
    body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
  });
  const text = await res.body.text();
  const setCookie = [res.headers['set-cookie'] ?? []].flat()[0];
  return { status: res.statusCode, json: JSON.parse(text) as Record<string, unknown>, setCookie };
}

const pairOf = (setCookie: string | undefined): string => (setCookie ?? '').split(';', 1)[0] ?? '';

test('a real assertion for the site signs in through /verify; whoami, the page and logout follow', async () => {
  const { backed } = await assertionFor(alice, ALICE, site.origin);
  const login = await call('POST', '/api/login', { body: { assertion: backed } });
  assert.equal(login.status, 200, JSON.stringify(login.json));
  assert.equal(login.json.email, ALICE);
  assert.equal(login.json.issuer, '127.0.0.1');

  const attributes = (login.setCookie ?? '').split(';').map((a) => a.trim().toLowerCase());
  assert.ok(attributes.includes('httponly'), login.setCookie);
  assert.ok(attributes.includes('samesite=lax'), login.setCookie);
  assert.ok(attributes.includes('path=/'), login.setCookie);
  assert.ok(!attributes.includes('secure'), 'an http origin gets no Secure cookie');
  const cookie = pairOf(login.setCookie);
  assert.match(cookie, /^example_site_session=[\w-]+\.\d+\.[\w-]{43}$/);

  assert.deepEqual((await call('GET', '/api/whoami', { cookie })).json, { email: ALICE });
  assert.deepEqual((await call('GET', '/api/whoami')).json, { email: null });

  const page = await request(`${site.origin}/`, { headers: { cookie } });
  const html = await page.body.text();
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.match(html, /Signed in as <strong>alice@example\.com<\/strong>/);
  assert.ok(html.includes(`<script src="${stack.base}/include.js"></script>`));
  assert.match(html, /id="status" role="status" aria-live="polite"/);
  assert.match(
    String(page.headers['content-security-policy']),
    new RegExp(`script-src 'self' ${stack.base}`),
  );
  const anonymous = await (await request(`${site.origin}/`)).body.text();
  assert.match(anonymous, /Not signed in\./);
  assert.match(anonymous, /data-user=""/);

  const script = await request(`${site.origin}/site.js`);
  const js = await script.body.text();
  assert.match(String(script.headers['content-type']), /^text\/javascript/);
  for (const call of [
    'navigator.id.watch(',
    'navigator.id.request(',
    'navigator.id.logout()',
    "'/api/login'",
  ])
    assert.ok(js.includes(call), call);

  const logout = await call('POST', '/api/logout', { body: {}, cookie });
  assert.equal(logout.status, 200);
  assert.match(logout.setCookie ?? '', /^example_site_session=; Max-Age=0;.*HttpOnly/);
});

test('an assertion for another audience and garbage are refused with the verifier’s reason, no cookie', async () => {
  const { backed } = await assertionFor(alice, ALICE, 'http://127.0.0.1:1');
  const wrong = await call('POST', '/api/login', { body: { assertion: backed } });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.setCookie, undefined);
  assert.match(String(wrong.json.error), /^Persona did not accept the sign-in: audience mismatch/);
  assert.match(String(wrong.json.reason), /audience mismatch/);

  const garbage = await call('POST', '/api/login', { body: { assertion: 'not.an~assertion' } });
  assert.equal(garbage.status, 401);
  assert.equal(garbage.setCookie, undefined);
  assert.match(String(garbage.json.error), /^Persona did not accept the sign-in: \S/);

  const missing = await call('POST', '/api/login', { body: {} });
  assert.deepEqual([missing.status, missing.json.error], [400, 'no assertion was sent']);
});

test('cross-site posts are refused: a form body, or another Origin', async () => {
  const { backed } = await assertionFor(alice, ALICE, site.origin);
  const form = await request(`${site.origin}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ assertion: backed }).toString(),
  });
  assert.equal(form.statusCode, 403);
  assert.equal(form.headers['set-cookie'], undefined);
  await form.body.dump();
  const other = await call('POST', '/api/login', {
    body: { assertion: backed },
    headers: { origin: 'https://evil.example' },
  });
  assert.deepEqual([other.status, other.json.error], [403, 'cross-origin request refused']);
  assert.equal(other.setCookie, undefined);
});

test('forged, re-signed and expired cookies are refused', async () => {
  const { backed } = await assertionFor(alice, ALICE, site.origin);
  const cookie = pairOf((await call('POST', '/api/login', { body: { assertion: backed } })).setCookie);
  assert.deepEqual((await call('GET', '/api/whoami', { cookie })).json, { email: ALICE });

  const [name, value = ''] = cookie.split('=');
  const [, expires, mac] = value.split('.');
  const mallory = Buffer.from('mallory@example.com').toString('base64url');
  const forgeries = [
    `${name}=${mallory}.${expires}.${mac}`, // someone else's address under Alice's MAC
    `${name}=${value.slice(0, -2)}${value.endsWith('AA') ? 'BB' : 'AA'}`, // a changed MAC
    `${name}=${value.split('.')[0]}.${Number(expires) + 1}.${mac}`, // a longer life
  ];
  // Signed by the same code with another secret: a different process, or an attacker's own.
  const elsewhere = createSignedCookie({ name: 'example_site_session', secure: false, maxAgeMs: 60_000 });
  forgeries.push(pairOf(elsewhere.issue(ALICE)));
  for (const forged of forgeries)
    assert.deepEqual((await call('GET', '/api/whoami', { cookie: forged })).json, { email: null }, forged);

  const clock = createSignedCookie({
    name: 'c',
    secure: false,
    maxAgeMs: 1000,
    secret: Buffer.alloc(32, 7),
  });
  const issued = pairOf(clock.issue(ALICE, 10_000));
  assert.equal(clock.read(issued, 10_999), ALICE);
  assert.equal(clock.read(issued, 11_000), null);
});
