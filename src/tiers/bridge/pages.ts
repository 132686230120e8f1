/**
 * The bridge's pages, written against Persona's provisioning and authentication shims
 * (reference/persona.md §9): the hidden provisioning page, the authentication page that hands over to the
 * provider, and the pages a person may meet on the way (the mailed code, a refusal, an outage). Sized for
 * the dialog's popup (480×640). One script serves them all, by the page's `data-page`.
 */

export const escapeHtml = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

export type PageName = 'authenticate' | 'done' | 'code' | 'problem' | 'provision';

export interface PageOptions {
  readonly page: PageName;
  readonly title: string;
  /** HTML, already escaped. */
  readonly body: string;
  readonly personaUrl: string;
  /** For the authentication shim's way back (every page but provisioning). */
  readonly shim: 'authentication' | 'provisioning';
  readonly data?: Readonly<Record<string, string>>;
}

export function page(o: PageOptions): string {
  const data = Object.entries(o.data ?? {})
    .map(([k, v]) => ` data-${k}="${escapeHtml(v)}"`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(o.title)}</title>
<link rel="stylesheet" href="/bridge.css">
</head>
<body data-page="${o.page}"${data}>
${o.body}
<script src="${escapeHtml(o.personaUrl)}/${o.shim}_api.js"></script>
<script src="/bridge.js"></script>
</body>
</html>
`;
}

/** A card with a heading, text and actions: the shape of every page a person sees. */
export function card(heading: string, paragraphs: readonly string[], actions = '', extra = ''): string {
  return `<main class="card">
<p class="via">Persona · sign-in bridge</p>
<h1 tabindex="-1">${heading}</h1>
${paragraphs.map((p) => `<p>${p}</p>`).join('\n')}
${extra}
${actions}
</main>`;
}

/** The way back to the dialog: the page's main action when it is the only one. */
export const cancelButton = (label = 'Back to Persona', main = true): string =>
  `<p class="actions"><button type="button" id="cancel"${main ? '' : ' class="secondary"'}>${escapeHtml(label)}</button></p>`;

export const BRIDGE_CSS = `*, *::before, *::after { box-sizing: border-box; }
html { color-scheme: light; }
body { margin: 0; min-height: 100vh; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: #1d2330; background: #eef1f6; display: flex; align-items: flex-start; justify-content: center; }
.card { background: #fff; margin: 32px 16px; padding: 28px 28px 24px; max-width: 420px; width: 100%;
  border-radius: 12px; box-shadow: 0 1px 3px rgba(20, 30, 60, .12), 0 8px 24px rgba(20, 30, 60, .08); }
.via { margin: 0 0 8px; font-size: 13px; letter-spacing: .02em; color: #5b6476; }
h1 { font-size: 22px; line-height: 1.3; margin: 0 0 12px; }
h1:focus { outline: none; }
p { margin: 0 0 12px; }
strong { overflow-wrap: anywhere; }
label { display: block; font-weight: 600; margin: 16px 0 6px; }
input { font: inherit; font-size: 24px; letter-spacing: .3em; width: 100%; padding: 10px 12px;
  border: 1px solid #8a93a6; border-radius: 8px; }
input[aria-invalid="true"] { border-color: #b3261e; }
.actions { display: flex; gap: 12px; flex-wrap: wrap; margin-top: 20px; }
button { font: inherit; font-weight: 600; padding: 10px 18px; border-radius: 8px; border: 1px solid #1f5fbf;
  background: #1f5fbf; color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: #1f5fbf; }
button.link { border: 0; background: none; color: #1f5fbf; padding: 0; font-weight: 400; text-decoration: underline; }
button:focus-visible, input:focus-visible { outline: 3px solid #1a73e8; outline-offset: 2px; }
.error { color: #b3261e; font-weight: 600; }
.hint { color: #5b6476; font-size: 14px; }
.spinner { width: 28px; height: 28px; border-radius: 50%; border: 3px solid #c9d3e6; border-top-color: #1f5fbf;
  animation: spin 1s linear infinite; margin: 8px 0 16px; }
@keyframes spin { to { transform: rotate(360deg); } }
@media (prefers-reduced-motion: reduce) { .spinner { animation: none; } }
`;

// The way back to the dialog is the shims' (authentication: completeAuthentication and
// raiseAuthenticationFailure; provisioning: registerCertificate and raiseProvisioningFailure).
export const BRIDGE_JS = `'use strict';
(function () {
  var body = document.body;
  var pageName = body.getAttribute('data-page');
  var id = navigator.id || {};
  function post(path, payload) {
    return fetch(path, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload || {})
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (json) {
        return { ok: res.ok, json: json };
      });
    });
  }
  function whoami() {
    return fetch('/api/whoami', { credentials: 'same-origin' }).then(function (r) { return r.json(); });
  }
  var same = function (a, b) { return String(a).toLowerCase() === String(b).toLowerCase(); };
  var cancel = document.getElementById('cancel');
  if (cancel) cancel.addEventListener('click', function () {
    if (id.raiseAuthenticationFailure) id.raiseAuthenticationFailure('user canceled authentication');
  });
  var heading = document.querySelector('h1');
  if (heading && pageName !== 'authenticate' && pageName !== 'done') heading.focus();

  if (pageName === 'provision' && id.beginProvisioning) {
    id.beginProvisioning(function (email, certDuration) {
      whoami().then(function (who) {
        if (!who.email || !same(who.email, email)) {
          id.raiseProvisioningFailure('user is not authenticated as target user');
          return;
        }
        id.genKeyPair(function (pubkey) {
          post('/api/cert_key', { pubkey: pubkey, email: email, duration: certDuration }).then(function (r) {
            if (r.ok && r.json.cert) id.registerCertificate(r.json.cert);
            else id.raiseProvisioningFailure(r.json.error || 'the certificate could not be issued');
          }, function () { id.raiseProvisioningFailure('the bridge could not be reached'); });
        });
      }, function () { id.raiseProvisioningFailure('the bridge could not be reached'); });
    });
  }
  if (pageName === 'authenticate') {
    var go = function (email) {
      window.location.replace('/oidc/start?email=' + encodeURIComponent(email));
    };
    if (id.beginAuthentication) {
      id.beginAuthentication(function (email) {
        whoami().then(function (who) {
          if (who.email && same(who.email, email)) id.completeAuthentication();
          else go(email);
        }, function () { go(email); });
      });
    }
  }
  if (pageName === 'done' && id.completeAuthentication) id.completeAuthentication();
  if (pageName === 'code') {
    var input = document.getElementById('code');
    if (input && input.getAttribute('aria-invalid') === 'true') input.focus();
  }
})();
`;
