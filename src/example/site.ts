/**
 * The example relying party (issue 5; reference/persona.md §10.3): a site on its own origin that loads
 * Persona's include.js, hands the assertion to its own server, has Persona's `/verify` check it for its own
 * origin, and keeps a signed-in cookie of its own. What a real site does, in one small file.
 */
import type { Logger } from 'pino';
import { request as httpRequest } from 'undici';
import { createTierApp, type TierApp } from '../http/app.ts';
import { createSignedCookie, crossSiteRefusal, escapeHtml } from './signed-cookie.ts';

export const EXAMPLE_SITE_ORIGIN = 'http://127.0.0.1:10001';
const SESSION_COOKIE = 'example_site_session';
const SESSION_MS = 24 * 60 * 60 * 1000;
const VERIFY_TIMEOUT_MS = 10_000;

export interface ExampleSiteOptions {
  /** Persona's public URL: include.js and /verify live there. */
  readonly personaUrl: string;
  /**
   * This site's origin, the audience every assertion must name. Configured, never taken from the Host
   * header: a Host an attacker chooses would let an assertion made for another site sign in here.
   */
  readonly origin?: string;
  readonly logger?: Logger;
  /** Name shown in Persona's dialog. */
  readonly siteName?: string;
}

export interface ExampleSite extends TierApp {
  readonly origin: string;
}

const originOf = (url: string): string => new URL(url).origin;

function page(personaUrl: string, siteName: string, email: string | null): string {
  const persona = escapeHtml(personaUrl);
  const who = email ? `Signed in as <strong>${escapeHtml(email)}</strong>.` : 'Not signed in.';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(siteName)}</title>
<link rel="stylesheet" href="/site.css">
</head>
<body>
<main id="main" data-user="${escapeHtml(email ?? '')}" data-site-name="${escapeHtml(siteName)}">
<h1>${escapeHtml(siteName)}</h1>
<p>This site signs you in with <a href="${persona}">Persona</a>: no password for this site, just your email address.</p>
<p id="who">${who}</p>
<p>
<button type="button" id="sign-in"${email ? ' hidden' : ''}>Sign in with your email</button>
<button type="button" id="sign-out"${email ? '' : ' hidden'}>Sign out</button>
</p>
<p id="status" role="status" aria-live="polite"></p>
<noscript><p>Signing in needs JavaScript.</p></noscript>
</main>
<script src="${persona}/include.js"></script>
<script src="/site.js"></script>
</body>
</html>
`;
}

// The page's script, served as a file so the page needs no inline script (its CSP allows none).
/** The page's script; docs/relying-parties.md shows it as it is (test/browser/guide.test.ts checks). */
export const SITE_JS = `'use strict';
(function () {
  var main = document.getElementById('main');
  var who = document.getElementById('who');
  var status = document.getElementById('status');
  var signIn = document.getElementById('sign-in');
  var signOut = document.getElementById('sign-out');
  var user = main.getAttribute('data-user') || null;

  function say(text) { status.textContent = text; }
  function show(email) {
    user = email;
    main.setAttribute('data-user', email || '');
    who.textContent = '';
    if (email) {
      var strong = document.createElement('strong');
      strong.textContent = email;
      who.append('Signed in as ', strong, '.');
    } else {
      who.textContent = 'Not signed in.';
    }
    signIn.hidden = Boolean(email);
    signOut.hidden = !email;
  }
  function post(path, body) {
    return fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body || {})
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (json) {
        return { ok: res.ok, json: json };
      });
    });
  }

  if (!navigator.id) {
    say('Persona could not be loaded, so signing in is not possible right now.');
    signIn.disabled = true;
    signOut.disabled = true;
    return;
  }

  var refused = false;
  navigator.id.watch({
    loggedInUser: user,
    onlogin: function (assertion) {
      say('Checking your sign-in…');
      post('/api/login', { assertion: assertion }).then(function (r) {
        if (r.ok && r.json.email) {
          show(r.json.email);
          say('Signed in as ' + r.json.email + '.');
        } else {
          refused = true;
          say('Sign-in failed: ' + (r.json.error || 'the site refused the sign-in.'));
          // Tell Persona too, or it would offer the same assertion again on the next page load.
          navigator.id.logout();
        }
      }, function () {
        say('Sign-in failed: the site could not be reached.');
      });
    },
    onlogout: function () {
      var was = user;
      post('/api/logout').then(function () {
        show(null);
        if (refused) refused = false;
        else if (was) say('Signed out.');
      }, function () {
        say('Signing out failed: the site could not be reached.');
      });
    }
  });

  signIn.addEventListener('click', function () {
    say('');
    navigator.id.request({
      siteName: main.getAttribute('data-site-name') || document.title,
      // The dialog's header takes the site's colour (a logo would need https).
      backgroundColor: '#8a3b12'
    });
  });
  signOut.addEventListener('click', function () {
    navigator.id.logout();
  });
})();
`;

const SITE_CSS = `:root { color-scheme: light dark; --bg: #fbfaf7; --text: #1d1b16; --muted: #5b574d; --accent: #8a3b12; --on-accent: #fff; --line: #d9d4c7; }
@media (prefers-color-scheme: dark) { :root { --bg: #17150f; --text: #f1ede4; --muted: #b9b2a3; --accent: #f0a36b; --on-accent: #1d1b16; --line: #4a453a; } }
body { font: 17px/1.55 Georgia, "Times New Roman", serif; margin: 0; background: var(--bg); color: var(--text); }
main { max-width: 38rem; margin: 0 auto; padding: 3rem 1.25rem; }
h1 { font-size: 2rem; margin: 0 0 1rem; }
a { color: var(--accent); }
button { font: 600 1rem/1 system-ui, sans-serif; padding: .75rem 1.25rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: var(--on-accent); cursor: pointer; }
#sign-out { background: transparent; color: var(--accent); }
button:focus-visible, a:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
#who { padding: .75rem 0; border-top: 1px solid var(--line); border-bottom: 1px solid var(--line); }
#status:empty { display: none; }
#status { color: var(--muted); }
`;

/** The site's own tab icon (a browser asks for /favicon.ico; a 404 would be a console error). */
const SITE_ICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#8a3b12"/><path d="M9 23V9h8a5 5 0 0 1 0 10h-4v4z" fill="#fff"/></svg>';

interface VerifierAnswer {
  status?: unknown;
  email?: unknown;
  audience?: unknown;
  issuer?: unknown;
  reason?: unknown;
}

export function buildExampleSite(options: ExampleSiteOptions): ExampleSite {
  const personaUrl = originOf(options.personaUrl);
  const origin = originOf(options.origin ?? EXAMPLE_SITE_ORIGIN);
  const siteName = options.siteName ?? 'Persona example site';
  const tierApp = createTierApp({ tier: 'example', logger: options.logger });
  const { app } = tierApp;
  const session = createSignedCookie({
    name: SESSION_COOKIE,
    secure: origin.startsWith('https:'),
    maxAgeMs: SESSION_MS,
  });
  const csp = [
    "default-src 'self'",
    `script-src 'self' ${personaUrl}`,
    `frame-src ${personaUrl}`,
    `connect-src 'self'`,
    `img-src 'self' data: ${personaUrl}`,
    "style-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');

  app.get('/', async (request, reply) => {
    const email = session.read(request.headers.cookie);
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', csp)
      .send(page(personaUrl, siteName, email));
  });
  app.get('/site.js', async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(SITE_JS),
  );
  app.get('/site.css', async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(SITE_CSS),
  );

  app.get('/favicon.ico', async (_request, reply) =>
    reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(SITE_ICON),
  );

  app.get('/api/whoami', async (request, reply) =>
    reply.header('cache-control', 'no-store').send({ email: session.read(request.headers.cookie) }),
  );

  // guide:server start (docs/relying-parties.md shows this part as it is)
  app.post('/api/login', async (request, reply) => {
    const refusal = crossSiteRefusal(request.headers, origin);
    if (refusal) return reply.code(403).send({ error: refusal });
    const assertion = (request.body as Record<string, unknown> | undefined)?.assertion;
    if (typeof assertion !== 'string' || assertion.length === 0)
      return reply.code(400).send({ error: 'no assertion was sent' });

    let answer: VerifierAnswer;
    try {
      const res = await httpRequest(`${personaUrl}/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        // The audience is this site's own origin, whatever the assertion claims.
        body: new URLSearchParams({ assertion, audience: origin }).toString(),
        headersTimeout: VERIFY_TIMEOUT_MS,
        bodyTimeout: VERIFY_TIMEOUT_MS,
      });
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new Error(`the verifier answered HTTP ${res.statusCode}`);
      }
      answer = (await res.body.json()) as VerifierAnswer;
    } catch (err) {
      request.log.warn({ err }, 'verifier unreachable');
      return reply.code(502).send({ error: 'the sign-in could not be checked: Persona is not reachable' });
    }

    if (answer.status !== 'okay') {
      const reason = typeof answer.reason === 'string' ? answer.reason : 'no reason given';
      request.log.info({ event: 'example-login', result: 'failure', reason }, 'assertion refused');
      return reply.code(401).send({ error: `Persona did not accept the sign-in: ${reason}`, reason });
    }
    // Trust, but check the answer is about what we asked.
    if (typeof answer.email !== 'string' || answer.audience !== origin) {
      return reply.code(502).send({ error: 'the sign-in could not be checked: unexpected verifier answer' });
    }
    request.log.info({ event: 'example-login', result: 'okay' }, 'signed in');
    return reply
      .header('set-cookie', session.issue(answer.email))
      .send({ email: answer.email, issuer: answer.issuer });
  });

  app.post('/api/logout', async (request, reply) => {
    const refusal = crossSiteRefusal(request.headers, origin);
    if (refusal) return reply.code(403).send({ error: refusal });
    return reply.header('set-cookie', session.clear()).send({ email: null });
  });
  // guide:server end

  return { ...tierApp, origin };
}
