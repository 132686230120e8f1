/**
 * provisioning_api.js: the shim a primary IdP's provisioning page loads from us (reference/persona.md §9).
 * The page runs hidden in an iframe of our dialog and uses navigator.id.beginProvisioning, genKeyPair,
 * registerCertificate and raiseProvisioningFailure; each becomes a message to the dialog.
 *
 * It talks only to window.parent, posting with targetOrigin = Persona's origin (so nothing reaches a page
 * of another origin that frames the IdP), and takes a reply only when it comes from Persona's origin and
 * from window.parent itself.
 */
import { installOnNavigatorId, personaOrigin } from './idp-shim.ts';
import {
  provisioningEnvelope,
  readToProvisioning,
  type FromProvisioning,
  type ToProvisioning,
} from './provisioning-protocol.ts';

type IdentityCallback = (email: string, certDuration: number) => void;
type KeyCallback = (pubkey: string) => void;

const persona = personaOrigin();
const parent = window.parent;
// Each callback is answered once; a repeated or unasked-for reply is ignored.
let onIdentity: IdentityCallback | undefined;
let onKey: KeyCallback | undefined;
let ended = false;

function send(message: FromProvisioning): void {
  // Not framed: there is nobody to tell (window.parent is this window, and of another origin than ours).
  if (parent === window || ended) return;
  if (message.type === 'registerCertificate' || message.type === 'failure') ended = true;
  parent.postMessage(provisioningEnvelope(message), persona);
}

window.addEventListener('message', (event: MessageEvent) => {
  if (event.origin !== persona || event.source !== parent) return;
  const message: ToProvisioning | undefined = readToProvisioning(event.data);
  if (message?.type === 'identity' && onIdentity) {
    const callback = onIdentity;
    onIdentity = undefined;
    callback(message.email, message.certDuration);
  } else if (message?.type === 'publicKey' && onKey) {
    const callback = onKey;
    onKey = undefined;
    callback(message.pubkey);
  }
});

const fn = (value: unknown, name: string): void => {
  if (typeof value !== 'function') throw new TypeError(`persona: ${name}() needs a callback`);
};

installOnNavigatorId({
  beginProvisioning(callback: IdentityCallback) {
    fn(callback, 'beginProvisioning');
    onIdentity = callback;
    send({ type: 'begin' });
  },
  genKeyPair(callback: KeyCallback) {
    fn(callback, 'genKeyPair');
    onKey = callback;
    send({ type: 'genKeyPair' });
  },
  registerCertificate(cert: string) {
    if (typeof cert !== 'string' || cert === '')
      throw new TypeError('persona: registerCertificate() needs the certificate');
    send({ type: 'registerCertificate', cert });
  },
  // Pages are plain JavaScript: the reason may be anything.
  raiseProvisioningFailure(reason: unknown) {
    send({ type: 'failure', reason: typeof reason === 'string' ? reason : '' });
  },
});
