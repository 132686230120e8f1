/**
 * The dialog's path for an address whose domain is a primary IdP (reference/persona.md §9): provisioning
 * in a hidden iframe of the IdP's provisioning page, the IdP's authentication page when the person is not
 * signed in there, then auth_with_assertion (a Persona session for the address) and an assertion for the
 * site backed by the IdP's certificate. docs/primary.md describes the protocol and the origin checks.
 */
import {
  ASSERTION_LIFETIME_MS,
  backedAssertion,
  certificatePayload,
  generateUserKey,
  signAssertion,
  type UserKey,
} from './assertion.ts';
import type { Translate } from '../text/i18n.ts';
import type { DialogMessages } from '../text/messages/dialog.ts';
import {
  AUTH_RETURN_PATH,
  authenticationUrl,
  provisioningEnvelope,
  readFromProvisioning,
  type ToProvisioning,
} from './provisioning-protocol.ts';
import { parseHttpUrl } from './protocol.ts';
import { postJson, type SessionContext } from './wsapi.ts';

/** What address_info says about a primary address. */
export interface PrimaryAddress {
  readonly email: string;
  /** The authoritative domain (certificates' issuer). */
  readonly issuer: string;
  /** Absolute URLs of the IdP's authentication and provisioning pages. */
  readonly auth: string;
  readonly prov: string;
}

/** The dialog's screens and text, as the primary path may use them. */
export interface DialogUi {
  readonly t: Translate<DialogMessages>;
  /** Progress and instructions (role=status). */
  say(text: string): void;
  /** Errors (role=alert, announced); '' clears. */
  complain(text: string): void;
  /** Shows one screen and hides the others: 'primary' is a form whose submit button is #primary-go. */
  show(screen: 'email' | 'primary' | 'wait'): void;
  /** The element hidden iframes go into. */
  readonly frames: HTMLElement;
}

export interface PrimaryContext {
  readonly ui: DialogUi;
  /** The site's origin: the audience of the assertion. */
  readonly audience: string;
  context(): Promise<SessionContext>;
  /** "This is not my computer": an ephemeral session, nothing kept. */
  readonly ephemeral: boolean;
  /** Hands `cert~assertion` to the site and closes the dialog. */
  finish(backedAssertion: string): void;
  /**
   * Called just before the dialog window goes to the IdP's authentication page: the dialog keeps what it
   * needs to resume (site, request, address) in sessionStorage. On the way back the IdP's page (our
   * authentication_api.js) sends the window to /sign_in?AUTH_RETURN or /sign_in?AUTH_RETURN_CANCEL, and the
   * dialog calls signInWithPrimary again (AUTH_RETURN) or shows ui.t('primaryCanceled') (AUTH_RETURN_CANCEL).
   */
  saveForReturn(email: string): void;
}

/** Certificates asked of the IdP last 6 h, 1 h for an ephemeral session (the original's values, in s). */
export const CERT_DURATION_S = 6 * 60 * 60;
export const EPHEMERAL_CERT_DURATION_S = 60 * 60;
/** The whole provisioning exchange must end within this. */
export const PROVISIONING_TIMEOUT_MS = 15_000;
/**
 * Once the provisioning page has loaded, it must have called beginProvisioning within this. A page that
 * failed to load (refused connection, an error page, a framing refusal) still fires `load`, and never asks.
 */
export const PROVISIONING_LOAD_GRACE_MS = 5_000;

type Provisioned =
  | { kind: 'certificate'; cert: string; key: UserKey }
  | { kind: 'failure'; reason: string }
  | { kind: 'unreachable' }
  | { kind: 'misfit' }
  | { kind: 'error'; error: unknown };

/** Runs the IdP's provisioning page hidden and answers its calls (provisioning_api.js). */
function provision(
  prov: URL,
  email: string,
  certDuration: number,
  frames: HTMLElement,
): Promise<Provisioned> {
  return new Promise((resolve) => {
    const frame = document.createElement('iframe');
    // Scripts and its own cookies, but no navigating the dialog, no popups, no forms.
    frame.setAttribute('sandbox', 'allow-scripts allow-same-origin');
    frame.setAttribute('aria-hidden', 'true');
    frame.tabIndex = -1;
    frame.title = prov.host;
    frame.style.display = 'none';
    const timers: number[] = [];
    let begun = false;
    let key: Promise<UserKey> | undefined;
    let ended = false;

    const end = (outcome: Provisioned): void => {
      if (ended) return;
      ended = true;
      window.removeEventListener('message', onMessage);
      for (const timer of timers) window.clearTimeout(timer);
      frame.remove();
      resolve(outcome);
    };
    const reply = (message: ToProvisioning): void => {
      if (!ended) frame.contentWindow?.postMessage(provisioningEnvelope(message), prov.origin);
    };

    function onMessage(event: MessageEvent): void {
      // The provisioning page's own origin and its own window: no other frame or window may speak for it.
      if (event.origin !== prov.origin || event.source === null || event.source !== frame.contentWindow)
        return;
      const message = readFromProvisioning(event.data);
      switch (message?.type) {
        case 'begin':
          begun = true;
          reply({ type: 'identity', email, certDuration });
          break;
        case 'genKeyPair':
          // One key per exchange; asked twice, the same public key goes again.
          key ??= generateUserKey();
          key.then(
            (made) => {
              reply({ type: 'publicKey', pubkey: made.publicKeyJson });
            },
            (error: unknown) => {
              end({ kind: 'error', error });
            },
          );
          break;
        case 'registerCertificate': {
          const { cert } = message;
          // A certificate before any key was asked for cannot be for our key.
          if (key === undefined) end({ kind: 'misfit' });
          else
            key.then(
              (made) => {
                end({ kind: 'certificate', cert: cert.trim(), key: made });
              },
              (error: unknown) => {
                end({ kind: 'error', error });
              },
            );
          break;
        }
        case 'failure':
          end({ kind: 'failure', reason: message.reason });
          break;
        default:
          break;
      }
    }

    window.addEventListener('message', onMessage);
    frame.addEventListener('load', () => {
      timers.push(
        window.setTimeout(() => {
          if (!begun) end({ kind: 'unreachable' });
        }, PROVISIONING_LOAD_GRACE_MS),
      );
    });
    timers.push(
      window.setTimeout(() => {
        end({ kind: 'unreachable' });
      }, PROVISIONING_TIMEOUT_MS),
    );
    frame.src = prov.href;
    frames.appendChild(frame);
  });
}

const field = (value: unknown, name: string): unknown =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;

/**
 * Whether the certificate certifies `email` with our public key. The verifier would refuse a wrong one
 * anyway; checking here gives the person a clear message instead of a failed sign-in at the site.
 */
export function certificateFits(cert: string, email: string, publicKeyJson: string): boolean {
  if (cert.split('.').length !== 3) return false;
  const payload = certificatePayload(cert);
  let ours: unknown;
  try {
    ours = JSON.parse(publicKeyJson);
  } catch {
    return false;
  }
  const named = field(field(payload, 'principal'), 'email');
  const theirs = field(payload, 'public-key');
  return (
    typeof named === 'string' &&
    named.toLowerCase() === email.toLowerCase() &&
    ['algorithm', 'n', 'e'].every((name) => {
      const value = field(theirs, name);
      return typeof value === 'string' && value === field(ours, name);
    })
  );
}

/**
 * The name the person knows: their address's domain, not the issuer (a bridge or a delegate speaks for it,
 * and bridge.login.persona.org means nothing to someone signing in with a gmail.com address).
 */
const mailDomain = (address: PrimaryAddress): string =>
  address.email.slice(address.email.lastIndexOf('@') + 1).toLowerCase();

/** Only the latest primary screen's button acts (signInWithPrimary may run again in the same page). */
let offered: AbortController | undefined;

/** The IdP did not provision: offer its authentication page, in this window. */
function offerAuthentication(address: PrimaryAddress, auth: URL, ctx: PrimaryContext, reason: string): void {
  const { ui } = ctx;
  const vars = { domain: mailDomain(address), email: address.email };
  const form = document.querySelector<HTMLFormElement>('form#screen-primary');
  const go = document.getElementById('primary-go');
  if (form === null || go === null) {
    ui.complain(ui.t('primaryFailed', { ...vars, reason }));
    ui.show('email');
    return;
  }
  // Back from the IdP's page and still not provisioned (its cookies not sent to the hidden frame, say):
  // say why before offering the page again.
  if (`${window.location.pathname}${window.location.search}` === AUTH_RETURN_PATH)
    ui.complain(ui.t('primaryFailed', { ...vars, reason }));
  ui.say(ui.t('primaryNeedsSignIn', vars));
  go.textContent = ui.t('primaryGo', vars);
  offered?.abort();
  const controller = new AbortController();
  offered = controller;
  form.addEventListener(
    'submit',
    (event) => {
      event.preventDefault();
      controller.abort();
      ctx.saveForReturn(address.email);
      // The IdP's page is another origin and cannot read our storage: the address goes in its URL.
      window.location.href = authenticationUrl(auth.href, address.email);
    },
    { signal: controller.signal },
  );
  ui.show('primary');
  go.focus();
}

/**
 * Signs `address` in through its IdP and hands the backed assertion to ctx.finish. Outcomes it expects
 * (IdP unreachable, not signed in at the IdP, a refused certificate) are shown through ctx.ui; errors of
 * our wsapi (WsapiError) and a browser without WebCrypto are thrown, after going back to the email screen,
 * for the dialog to report as it reports them everywhere.
 */
export async function signInWithPrimary(address: PrimaryAddress, ctx: PrimaryContext): Promise<void> {
  const { ui } = ctx;
  const vars = { domain: mailDomain(address), email: address.email };
  const prov = parseHttpUrl(address.prov);
  const auth = parseHttpUrl(address.auth);
  ui.complain('');
  if (prov === undefined || auth === undefined) {
    ui.complain(ui.t('primaryBadAddresses', vars));
    ui.show('email');
    return;
  }
  offered?.abort();
  ui.say(ui.t('primaryChecking', vars));
  ui.show('wait');
  try {
    const certDuration = ctx.ephemeral ? EPHEMERAL_CERT_DURATION_S : CERT_DURATION_S;
    const outcome = await provision(prov, address.email, certDuration, ui.frames);
    if (outcome.kind === 'error') throw outcome.error;
    if (outcome.kind === 'unreachable') {
      ui.complain(ui.t('primaryUnreachable', vars));
      ui.show('email');
      return;
    }
    if (outcome.kind === 'failure') {
      offerAuthentication(address, auth, ctx, outcome.reason);
      return;
    }
    if (
      outcome.kind === 'misfit' ||
      !certificateFits(outcome.cert, address.email, outcome.key.publicKeyJson)
    ) {
      ui.complain(ui.t('primaryBadCertificate', vars));
      ui.show('email');
      return;
    }

    const { cert, key } = outcome;
    // A Persona session for the address (and its account, made at the first sign-in): the audience is us.
    const context = await ctx.context();
    const forPersona = await signAssertion(
      key.privateKey,
      window.location.origin,
      context.serverNow() + ASSERTION_LIFETIME_MS,
    );
    const answer = await postJson('auth_with_assertion', context, {
      assertion: backedAssertion(cert, forPersona),
      ephemeral: ctx.ephemeral,
    });
    if (answer.success !== true) {
      const reason = typeof answer.reason === 'string' ? answer.reason : 'no reason given';
      ui.complain(ui.t('primaryRefused', { ...vars, reason }));
      ui.show('email');
      return;
    }

    ui.say(ui.t('signingIn'));
    const forSite = await signAssertion(
      key.privateKey,
      ctx.audience,
      context.serverNow() + ASSERTION_LIFETIME_MS,
    );
    ctx.finish(backedAssertion(cert, forSite));
  } catch (err) {
    ui.show('email');
    throw err;
  }
}
