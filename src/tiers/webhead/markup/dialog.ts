/**
 * The dialog's markup (/sign_in): every screen is here, hidden until src/browser/dialog.ts shows it, so the
 * first paint needs no script and the script only switches screens. Texts come from the catalogue.
 *
 * Layout (style.ts): the site's bar on top (its logo, "Sign in to <name>", its real host beneath), one
 * column of fields whose primary button comes right after them, and a quiet Persona footer with help and
 * privacy links. Sized to fit the popup include.js opens (DIALOG_FEATURES) without scrolling.
 */
import type { Translate } from '../../../text/i18n.ts';
import type { DialogMessages } from '../../../text/messages/dialog.ts';
import { PERSONA_MARK } from './style.ts';

/** A username field for password managers, which pair it with the password beside it; not for people. */
const usernameFor = (id: string): string =>
  `<input id="${id}" class="sr-only" type="email" name="username" autocomplete="username" readonly tabindex="-1" aria-hidden="true">`;

export function dialogMarkup(t: Translate<DialogMessages>): string {
  const shared = `<p class="check"><input id="{id}" type="checkbox"><label for="{id}">${t('sharedComputer')}</label></p>`;
  const primary = (id: string, text: string) =>
    `<button id="${id}" type="submit" class="primary">${text}</button>`;
  return `<header id="site"><img id="site-logo" alt="" hidden>
<div><h1><span class="eyebrow" id="site-eyebrow" hidden>${t('signInToEyebrow')} </span><span id="site-name">${t('heading')}</span></h1>
<p class="eyebrow" id="site-host" hidden></p></div></header>
<main>
<p id="status" role="status" aria-live="polite">${t('waiting')}</p>
<p id="error" role="alert"></p>
<p id="retry-row" hidden><button id="retry" type="button" class="primary">${t('tryAgain')}</button></p>
<form id="screen-email" class="screen" hidden novalidate>
<label for="email">${t('emailLabel')}</label>
<input id="email" name="email" type="email" autocomplete="username" autofocus required>
<p class="actions">${primary('email-next', t('next'))}</p>
</form>
<form id="screen-password" class="screen" hidden novalidate>
${usernameFor('password-username')}
<label for="password">${t('passwordLabel')}</label>
<input id="password" name="password" type="password" autocomplete="current-password">
${shared.replaceAll('{id}', 'password-shared')}
<p class="actions">${primary('password-submit', t('signIn'))}
<button id="forgot" type="button" class="link">${t('forgotPassword')}</button></p>
</form>
<form id="screen-new-password" class="screen" hidden novalidate>
${usernameFor('new-username')}
<label for="new-password">${t('newPasswordLabel')}</label>
<input id="new-password" name="new-password" type="password" autocomplete="new-password" aria-describedby="password-rules" minlength="8" maxlength="80">
<p id="password-rules" class="hint">${t('passwordRules')}</p>
<label for="repeat-password">${t('repeatPasswordLabel')}</label>
<input id="repeat-password" name="repeat-password" type="password" autocomplete="new-password" maxlength="80">
${shared.replaceAll('{id}', 'new-shared')}
<p class="actions">${primary('new-password-submit', t('createAccount'))}</p>
</form>
<form id="screen-confirm" class="screen" hidden novalidate>
<p class="actions">${primary('confirm-submit', t('next'))}</p>
</form>
<section id="screen-wait" class="screen" hidden>
<span class="spinner big" aria-hidden="true"></span>
<p class="actions"><button id="resend" type="button">${t('resend')}</button></p>
</section>
<form id="screen-pick" class="screen" hidden novalidate>
<fieldset>
<legend id="pick-legend"></legend>
<div id="pick-list"></div>
</fieldset>
<p class="actions">${primary('pick-submit', t('signIn'))}
<button id="sign-out" type="button" class="link">${t('signOut')}</button></p>
</form>
<form id="screen-primary" class="screen" hidden novalidate>
<p class="actions">${primary('primary-go', t('next'))}</p>
</form>
<p class="actions"><span class="progress" aria-hidden="true"><span class="spinner"></span>${t('working')}</span>
<button id="use-another" type="button" class="link" hidden>${t('useAnother')}</button>
<button id="cancel" type="button" class="end">${t('cancel')}</button></p>
<p id="terms" class="hint" hidden></p>
<div id="provisioning" hidden></div>
</main>
<footer class="foot"><span class="brand">${PERSONA_MARK}Persona</span>
<nav aria-label="${t('footerNav')}"><a href="/#about" target="_blank" rel="noopener">${t('help')}</a>
<a href="/#privacy" target="_blank" rel="noopener">${t('privacy')}</a></nav></footer>`;
}
