/**
 * The dialog popup (/sign_in), opened by include.js's request(). It takes the request only from the window
 * that opened it, and only when that window's real origin (event.origin) is the one named in the URL; the
 * assertion goes back to exactly that origin, which is also the assertion's audience.
 *
 * This slice completes the channel only; the sign-in screens come next. The development/test hook below
 * stands in for them and exists only when the page carries <meta name="persona-test-hook">, which the
 * webhead adds only with fake verification on (test-only, refused with PERSONA_ENV=production).
 */
import {
  envelope,
  originFromFragment,
  readMessage,
  type FromDialog,
  type RequestOptions,
} from './protocol.ts';

const site = originFromFragment(window.location.hash);
const opener = window.opener as Window | null;
let request: RequestOptions | undefined;

const status = document.getElementById('status');
const say = (text: string): void => {
  if (status) status.textContent = text;
};

function send(message: FromDialog): void {
  if (site !== undefined && opener !== null) opener.postMessage(envelope(message), site);
}

function finish(message: FromDialog): void {
  send(message);
  window.close();
}

if (site === undefined || opener === null) {
  say('This window signs you in to a site. Open it from the site’s “Sign in” button.');
} else {
  window.addEventListener('message', (event: MessageEvent) => {
    if (event.origin !== site || event.source !== opener) return;
    const message = readMessage(event.data);
    if (message?.type !== 'request' || request !== undefined) return;
    request = message.options;
    say(`Sign in to ${request.siteName ?? site}`);
  });
  document.getElementById('cancel')?.addEventListener('click', () => {
    finish({ type: 'cancel' });
  });
  send({ type: 'hello' });
}

// DEVELOPMENT/TEST ONLY: lets a test play the person until the real screens exist.
if (document.querySelector('meta[name="persona-test-hook"]') !== null) {
  Object.defineProperty(window, 'personaDialogTestHook', {
    value: Object.freeze({
      /** The request received so far and the site it came from, or null before it arrives. */
      request: () => (request === undefined ? null : { site, options: request }),
      complete: (assertion: string) => {
        finish({ type: 'assertion', assertion });
      },
      cancel: () => {
        finish({ type: 'cancel' });
      },
    }),
  });
}
