/**
 * A development-only example primary identity provider (issue 5; reference/persona.md §10.3, §4.7): a mail
 * domain that vouches for its own users. It publishes `/.well-known/browserid` with its own RS256 key, a
 * provisioning page and an authentication page written against the BrowserID provisioning and
 * authentication APIs (Persona's provisioning_api.js / authentication_api.js), a password-less
 * "sign in as <name>@<domain>" form, and certifies public keys for the signed-in user.
 *
 * Persona discovers primaries at https://<domain>:443; to use this one locally Persona needs a
 * development-only mapping of the domain to this server's http origin (docs/examples.md).
 */
import type { Logger } from 'pino';
import {
  certifyPublicKey,
  generateKeypair,
  parsePublicKey,
  publicKeyOf,
  supportDocumentFor,
  BrowserIdError,
  type Keypair,
  type SecretKey,
} from '../browserid/index.ts';
import { createTierApp, type TierApp } from '../http/app.ts';
import { createSignedCookie, crossSiteRefusal, escapeHtml } from './signed-cookie.ts';

export const EXAMPLE_PRIMARY_DOMAIN = 'example.domain';
export const EXAMPLE_PRIMARY_ORIGIN = 'http://127.0.0.1:10005';
export const PROVISIONING_PATH = '/provision';
export const AUTHENTICATION_PATH = '/authenticate';
/** The longest certificate this IdP issues (the original's 24 h ceiling). */
export const MAX_CERTIFICATE_MS = 24 * 60 * 60 * 1000;
const SESSION_COOKIE = 'example_primary_session';
const SESSION_MS = 24 * 60 * 60 * 1000;
const USER_NAME = /^[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?$/;

export interface ExamplePrimaryOptions {
  /** The mail domain this IdP speaks for: the issuer of its certificates. */
  readonly domain?: string;
  /** This server's own origin (http in development), where its pages and API live. */
  readonly origin?: string;
  /** Persona's public URL: the shims come from there, and only it may frame the provisioning page. */
  readonly personaUrl?: string;
  /** The domain key; default a fresh RS256 key per process (a restart invalidates earlier certificates). */
  readonly domainKey?: SecretKey;
  readonly logger?: Logger;
  /** Clock, ms; for tests. */
  readonly now?: () => number;
}

export interface ExamplePrimary extends TierApp {
  readonly domain: string;
  readonly origin: string;
  /** The public half of its domain key, as published. */
  readonly keypair: Pick<Keypair, 'publicKey'>;
}

/** The email address a name signs in as, or null if the name is not acceptable. */
export function addressFor(name: unknown, domain: string): string | null {
  if (typeof name !== 'string') return null;
  let local = name.trim().toLowerCase();
  const at = local.lastIndexOf('@');
  if (at >= 0) {
    if (local.slice(at + 1) !== domain) return null;
    local = local.slice(0, at);
  }
  return USER_NAME.test(local) ? `${local}@${domain}` : null;
}

/** Certificate lifetime for a requested duration in seconds (the provisioning API's certDuration). */
export function certificateLifetimeMs(durationSeconds: unknown): number {
  const seconds = typeof durationSeconds === 'string' ? Number(durationSeconds) : durationSeconds;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) return MAX_CERTIFICATE_MS;
  return Math.min(Math.round(seconds * 1000), MAX_CERTIFICATE_MS);
}

function shell(title: string, body: string, scripts: readonly string[]): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/primary.css">
</head>
<body>
${body}
${scripts.map((src) => `<script src="${escapeHtml(src)}"></script>`).join('\n')}
</body>
</html>
`;
}

// Shared by both pages: a JSON POST to this IdP's own API.
const POST_JS = `function post(path, body) {
  return fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body || {})
  }).then(function (res) {
    return res.json().catch(function () { return {}; }).then(function (json) {
      return { ok: res.ok, status: res.status, json: json };
    });
  });
}
function whoami() {
  return fetch('/api/whoami', { credentials: 'same-origin' }).then(function (res) { return res.json(); });
}
`;

// Runs in Persona's hidden iframe: certify a fresh key for the address Persona asks about, if that is who
// is signed in here; otherwise say so, and Persona sends the person to the authentication page.
const PROVISION_JS = `'use strict';
${POST_JS}
(function () {
  var id = navigator.id;
  if (!id || !id.beginProvisioning) return;
  id.beginProvisioning(function (email, certDuration) {
    whoami().then(function (who) {
      if (!who.email || who.email !== String(email).toLowerCase()) {
        id.raiseProvisioningFailure('user is not authenticated as target user');
        return;
      }
      id.genKeyPair(function (pubkey) {
        post('/api/cert_key', { pubkey: pubkey, duration: certDuration }).then(function (r) {
          if (r.ok && r.json.cert) id.registerCertificate(r.json.cert);
          else id.raiseProvisioningFailure(r.json.error || 'the certificate could not be issued');
        }, function () {
          id.raiseProvisioningFailure('the identity provider could not be reached');
        });
      });
    }, function () {
      id.raiseProvisioningFailure('the identity provider could not be reached');
    });
  });
})();
`;

const AUTHENTICATE_JS = `'use strict';
${POST_JS}
(function () {
  var id = navigator.id && navigator.id.beginAuthentication ? navigator.id : null;
  var form = document.getElementById('sign-in');
  var name = document.getElementById('name');
  var cancel = document.getElementById('cancel');
  var status = document.getElementById('status');
  var domain = form.getAttribute('data-domain');
  function say(text) { status.textContent = text; }

  if (id) {
    id.beginAuthentication(function (email) {
      var at = String(email).lastIndexOf('@');
      if (at > 0) name.value = String(email).slice(0, at);
      // Already signed in here as that address: nothing to ask.
      whoami().then(function (who) {
        if (who.email && who.email === String(email).toLowerCase()) id.completeAuthentication();
      });
    });
  } else {
    cancel.hidden = true;
  }
  name.focus();

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    say('Signing in…');
    post('/api/login', { user: name.value }).then(function (r) {
      if (!r.ok) {
        say(r.json.error || 'Signing in failed.');
        name.setAttribute('aria-invalid', 'true');
        name.focus();
        return;
      }
      name.removeAttribute('aria-invalid');
      say('Signed in as ' + r.json.email + '.');
      if (id) id.completeAuthentication();
    }, function () {
      say('Signing in failed: ' + domain + ' could not be reached.');
    });
  });
  cancel.addEventListener('click', function () {
    if (id) id.raiseAuthenticationFailure('user canceled authentication');
  });
})();
`;

const PRIMARY_CSS = `body { font: 16px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 32rem; padding: 0 1rem; color: #222; }
input, button { font: inherit; padding: .4rem .6rem; }
button:focus-visible, input:focus-visible { outline: 3px solid #1a73e8; outline-offset: 2px; }
#status:empty { display: none; }
`;

export function buildExamplePrimary(options: ExamplePrimaryOptions = {}): ExamplePrimary {
  const domain = (options.domain ?? EXAMPLE_PRIMARY_DOMAIN).toLowerCase();
  const origin = new URL(options.origin ?? EXAMPLE_PRIMARY_ORIGIN).origin;
  const personaUrl = new URL(options.personaUrl ?? 'http://127.0.0.1:10002').origin;
  const now = options.now ?? Date.now;
  const domainKey = options.domainKey ?? generateKeypair('RS256').secretKey;
  const publicKey = publicKeyOf(domainKey);
  // Framing is decided per page below: Persona must be able to frame /provision, nothing else may be framed.
  const tierApp = createTierApp({ tier: 'example', logger: options.logger, denyFraming: false });
  const { app } = tierApp;
  const session = createSignedCookie({
    name: SESSION_COOKIE,
    secure: origin.startsWith('https:'),
    maxAgeMs: SESSION_MS,
  });
  const pageCsp = (frameAncestors: string) =>
    [
      "default-src 'self'",
      `script-src 'self' ${personaUrl}`,
      "connect-src 'self'",
      "style-src 'self'",
      "base-uri 'none'",
      "form-action 'self'",
      `frame-ancestors ${frameAncestors}`,
    ].join('; ');

  app.addHook('onSend', (_request, reply, payload, done) => {
    if (!reply.hasHeader('x-frame-options') && !reply.hasHeader('content-security-policy'))
      reply.header('x-frame-options', 'DENY');
    done(null, payload);
  });

  app.get('/.well-known/browserid', async (_request, reply) =>
    reply
      .type('application/json')
      // A development IdP whose key changes per process: let nobody keep the document for long.
      .header('cache-control', 'public, max-age=10')
      .send(
        supportDocumentFor(publicKey, {
          authentication: AUTHENTICATION_PATH,
          provisioning: PROVISIONING_PATH,
        }),
      ),
  );

  app.get(PROVISIONING_PATH, async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', pageCsp(personaUrl))
      .send(
        shell(
          `Provisioning for ${domain}`,
          `<p>Provisioning ${escapeHtml(domain)} addresses for Persona.</p>`,
          [`${personaUrl}/provisioning_api.js`, '/provision.js'],
        ),
      ),
  );

  app.get(AUTHENTICATION_PATH, async (request, reply) => {
    const signedIn = session.read(request.headers.cookie);
    const d = escapeHtml(domain);
    const body = `<main>
<h1>Sign in to ${d}</h1>
<p>A development-only identity provider: anyone may sign in as any name, without a password.</p>
${signedIn ? `<p>You are signed in here as <strong>${escapeHtml(signedIn)}</strong>.</p>` : ''}
<form id="sign-in" data-domain="${d}" novalidate>
<label for="name">Your name at ${d}</label>
<p><input id="name" name="user" autocomplete="username" autocapitalize="none" spellcheck="false" required aria-describedby="domain-hint"> <span id="domain-hint">@${d}</span></p>
<p><button type="submit">Sign in</button> <button type="button" id="cancel">Cancel</button></p>
</form>
<p id="status" role="status" aria-live="polite"></p>
</main>`;
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', pageCsp("'none'"))
      .send(shell(`Sign in to ${domain}`, body, [`${personaUrl}/authentication_api.js`, '/authenticate.js']));
  });

  const script = (text: string) => async (_request: unknown, reply: import('fastify').FastifyReply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(text);
  app.get('/provision.js', script(PROVISION_JS));
  app.get('/authenticate.js', script(AUTHENTICATE_JS));
  app.get('/primary.css', async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(PRIMARY_CSS),
  );

  app.get('/api/whoami', async (request, reply) =>
    reply.header('cache-control', 'no-store').send({ email: session.read(request.headers.cookie) }),
  );

  app.post('/api/login', async (request, reply) => {
    const refusal = crossSiteRefusal(request.headers, origin);
    if (refusal) return reply.code(403).send({ error: refusal });
    const email = addressFor((request.body as Record<string, unknown> | undefined)?.user, domain);
    if (!email)
      return reply.code(400).send({
        error: `Enter a name of letters, digits and . _ + - (at most 64), for an address at ${domain}.`,
      });
    return reply.header('set-cookie', session.issue(email, now())).send({ email });
  });

  app.post('/api/logout', async (request, reply) => {
    const refusal = crossSiteRefusal(request.headers, origin);
    if (refusal) return reply.code(403).send({ error: refusal });
    return reply.header('set-cookie', session.clear()).send({ email: null });
  });

  app.post('/api/cert_key', async (request, reply) => {
    const refusal = crossSiteRefusal(request.headers, origin);
    if (refusal) return reply.code(403).send({ error: refusal });
    const email = session.read(request.headers.cookie, now());
    if (!email) return reply.code(401).send({ error: 'not signed in' });
    const body = (request.body ?? {}) as Record<string, unknown>;
    let userKey;
    try {
      // genKeyPair hands over the key serialized, as jwcrypto does; accept the object as well.
      userKey = parsePublicKey(body.pubkey);
    } catch (err) {
      if (err instanceof BrowserIdError)
        return reply.code(400).send({ error: `bad public key: ${err.message}` });
      throw err;
    }
    const issuedAt = now();
    const cert = certifyPublicKey(
      {
        issuer: domain,
        publicKey: userKey,
        principal: { email },
        issuedAt,
        expiresAt: issuedAt + certificateLifetimeMs(body.duration),
      },
      domainKey,
    );
    request.log.info({ event: 'example-primary-certify' }, 'certificate issued');
    return reply.header('cache-control', 'no-store').send({ cert });
  });

  return { ...tierApp, domain, origin, keypair: { publicKey } };
}
