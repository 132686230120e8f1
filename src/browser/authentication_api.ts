/**
 * authentication_api.js: the shim a primary IdP's authentication page loads from us (reference/persona.md
 * §9). The dialog sends its own window to that page with the address in the `email` query parameter; the
 * page signs the person in its own way and then sends the window back to the dialog.
 *
 * beginAuthentication(cb) → cb(email); completeAuthentication() → Persona's /sign_in?AUTH_RETURN;
 * raiseAuthenticationFailure(reason) and cancelAuthentication() → /sign_in?AUTH_RETURN_CANCEL. The way back
 * goes only to Persona's origin, written into this file when the webhead serves it.
 */
import { installOnNavigatorId, personaOrigin } from './idp-shim.ts';
import { AUTH_CANCEL_PATH, AUTH_EMAIL_PARAM, AUTH_RETURN_PATH } from './provisioning-protocol.ts';

const persona = personaOrigin();
// The page may reload itself (a form posted to its server, a second step) and lose the query: the address
// is kept in this tab's storage of the IdP's origin, the only storage the IdP's page can read.
const STORAGE_KEY = 'persona.authentication.email';

function addressToAuthenticate(): string | null {
  const given = new URLSearchParams(window.location.search).get(AUTH_EMAIL_PARAM);
  try {
    if (given !== null && given.includes('@')) sessionStorage.setItem(STORAGE_KEY, given);
    return sessionStorage.getItem(STORAGE_KEY) ?? given;
  } catch {
    return given; // storage disabled: the query alone
  }
}

function backToPersona(path: string): void {
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // nothing kept
  }
  window.location.href = `${persona}${path}`;
}

installOnNavigatorId({
  beginAuthentication(callback: (email: string) => void) {
    if (typeof callback !== 'function')
      throw new TypeError('persona: beginAuthentication() needs a callback');
    const email = addressToAuthenticate();
    // Without an address (the page was opened by hand) there is nothing to hand over; the page still works.
    if (email !== null && email.includes('@')) callback(email);
  },
  completeAuthentication() {
    backToPersona(AUTH_RETURN_PATH);
  },
  raiseAuthenticationFailure(_reason: string) {
    backToPersona(AUTH_CANCEL_PATH);
  },
  cancelAuthentication() {
    backToPersona(AUTH_CANCEL_PATH);
  },
});
