/**
 * The communication iframe (/communication_iframe), framed invisibly by include.js on the site's page.
 * It answers only its parent, and only when the parent's real origin (event.origin) is the one named in
 * the URL; it writes only to that origin.
 *
 * This slice: `loaded` → `ready`, `logout` → `logout`. Comparing loggedInUser with our own session state
 * (and emitting login/logout/match on load) comes with the dialog's key storage.
 */
import { envelope, originFromFragment, readMessage, type FromIframe } from './protocol.ts';

const site = originFromFragment(window.location.hash);
const parent = window.parent;

if (site !== undefined && parent !== window) {
  const send = (message: FromIframe): void => {
    parent.postMessage(envelope(message), site);
  };
  window.addEventListener('message', (event: MessageEvent) => {
    if (event.origin !== site || event.source !== parent) return;
    const message = readMessage(event.data);
    if (message?.type === 'loaded') send({ type: 'ready' });
    else if (message?.type === 'logout') send({ type: 'logout' });
  });
  send({ type: 'hello' });
}
