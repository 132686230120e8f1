/**
 * The dialog's path for an address whose domain is a primary IdP (reference/persona.md §9): provisioning
 * in a hidden iframe of the IdP's provisioning page, the IdP's authentication page when the person is not
 * signed in there, then auth_with_assertion (a Persona session for the address) and an assertion for the
 * site backed by the IdP's certificate.
 */
import type { Translate } from './i18n.ts';
import type { DialogMessages } from './messages/dialog.ts';
import type { SessionContext } from './wsapi.ts';

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

export async function signInWithPrimary(address: PrimaryAddress, ctx: PrimaryContext): Promise<void> {
  ctx.ui.complain(
    ctx.ui.t('primaryFailed', { domain: address.issuer, email: address.email, reason: 'not built yet' }),
  );
}
