/**
 * What the landing pages (landing.ts) and the account page (account.ts) share: the texts both show, the
 * status and alert regions, forms that run one call at a time, error wording and the password rule.
 */
import { pagesEn } from '../text/messages/pages.ts';
import { pageTranslator } from './i18n.ts';
import { WsapiError } from './wsapi.ts';

/** The markup was rendered in one locale, whose texts the page carries: the scripts speak the same. */
export const t = pageTranslator(pagesEn);

// The language switch's links (?lang=xx) keep the rest of the address: a landing page's token above all.
for (const link of document.querySelectorAll<HTMLAnchorElement>('#languages a[hreflang]')) {
  const url = new URL(window.location.href);
  url.searchParams.set('lang', link.hreflang);
  link.href = url.href;
}

/** An element of our own markup (src/tiers/webhead/markup/pages.ts), which has them all. */
export const el = (id: string): HTMLElement => document.getElementById(id) as HTMLElement;
export const input = (id: string): HTMLInputElement => el(id) as HTMLInputElement;

const statusBox = el('status');
const alertBox = el('error');

/** Progress and outcomes, in the polite live region. */
export const say = (text: string): void => {
  statusBox.textContent = text;
};
/** Errors, in the role=alert region, so they are announced at once. */
export const complain = (text: string): void => {
  alertBox.textContent = text;
};

/** A refusal worded for the person (thrown by the pages' own checks): shown as it is. */
export class Refusal extends Error {}

export function messageFor(err: unknown): string {
  if (err instanceof Refusal) return err.message;
  if (err instanceof WsapiError) {
    if (err.status === 0) return t('unreachable');
    if (err.status === 503) return t('busy');
    if (err.status === 429) return t('tooMany');
    // The session (and its CSRF token) was reset, e.g. by a password change in another browser.
    if (err.status === 403 || /CSRF|requires auth/.test(err.body)) return t('sessionEnded');
  }
  return t('wentWrong', { reason: err instanceof Error ? err.message : String(err) });
}

/**
 * The wsapi's rule for a password (src/wsapi/validate.ts: 8 to 80 UTF-16 units), and that both copies
 * match. The problem, or undefined.
 */
export function passwordProblem(pass: string, again = pass): string | undefined {
  if (pass.length < 8) return t('passwordTooShort');
  if (pass.length > 80) return t('passwordTooLong');
  if (again !== pass) return t('passwordsDiffer');
  return undefined;
}

/** A typed password that cannot be right, with why: empty, or outside the wsapi's bounds. */
export const badPassword = (pass: string): string | undefined =>
  pass === '' ? t('passwordMissing') : passwordProblem(pass) && t('passwordWrong');

/**
 * Runs `work` on submit (given the button pressed): never a real submission (the CSP has form-action
 * 'none'), one call at a time, the form's buttons disabled and the form aria-busy meanwhile, failures
 * announced in the alert region.
 */
export function onSubmit(form: HTMLElement, work: (submitter: HTMLElement | null) => Promise<void>): void {
  let busy = false;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    const buttons = form.querySelectorAll('button');
    const setBusy = (value: boolean) => {
      for (const button of buttons) button.disabled = value;
      form.setAttribute('aria-busy', String(value));
    };
    setBusy(true);
    complain('');
    const { submitter } = event;
    work(submitter)
      .catch((err: unknown) => {
        say('');
        complain(messageFor(err));
      })
      .finally(() => {
        busy = false;
        setBusy(false);
        // Disabling the pressed button took its focus; give it back unless the page moved it on purpose.
        if (document.activeElement === document.body && submitter?.isConnected === true) submitter.focus();
      });
  });
}

/** Shows one of `views` (hides the others; undefined hides all). */
export function show(views: readonly HTMLElement[], shown?: HTMLElement): void {
  for (const view of views) view.hidden = view !== shown;
}
