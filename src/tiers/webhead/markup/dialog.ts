/**
 * The dialog's markup (/sign_in): every screen is here, hidden until src/browser/dialog.ts shows it, so the
 * first paint needs no script and the script only switches screens. Texts come from the catalogue.
 */
import type { Translate } from '../../../text/i18n.ts';
import type { DialogMessages } from '../../../text/messages/dialog.ts';

export function dialogMarkup(t: Translate<DialogMessages>): string {
  const shared = `<p class="check"><input id="{id}" type="checkbox"> <label for="{id}">${t('sharedComputer')}</label></p>`;
  return `<main>
<header id="site"><img id="site-logo" alt="" hidden><h1>${t('heading')}</h1></header>
<p id="status" role="status" aria-live="polite">${t('waiting')}</p>
<p id="error" role="alert"></p>
<form id="screen-email" class="screen" hidden novalidate>
<label for="email">${t('emailLabel')}</label>
<input id="email" name="email" type="email" autocomplete="username" autofocus required>
<button id="email-next" type="submit">${t('next')}</button>
</form>
<form id="screen-password" class="screen" hidden novalidate>
<label for="password">${t('passwordLabel')}</label>
<input id="password" name="password" type="password" autocomplete="current-password">
${shared.replaceAll('{id}', 'password-shared')}
<button id="password-submit" type="submit">${t('signIn')}</button>
<button id="forgot" type="button" class="link">${t('forgotPassword')}</button>
</form>
<form id="screen-new-password" class="screen" hidden novalidate>
<label for="new-password">${t('newPasswordLabel')}</label>
<input id="new-password" name="new-password" type="password" autocomplete="new-password" aria-describedby="password-rules" minlength="8" maxlength="80">
<p id="password-rules" class="hint">${t('passwordRules')}</p>
<label for="repeat-password">${t('repeatPasswordLabel')}</label>
<input id="repeat-password" name="repeat-password" type="password" autocomplete="new-password" maxlength="80">
${shared.replaceAll('{id}', 'new-shared')}
<button id="new-password-submit" type="submit">${t('createAccount')}</button>
</form>
<form id="screen-confirm" class="screen" hidden novalidate>
<button id="confirm-submit" type="submit">${t('next')}</button>
</form>
<section id="screen-wait" class="screen" hidden>
<p class="spinner" aria-hidden="true"></p>
</section>
<form id="screen-pick" class="screen" hidden novalidate>
<fieldset>
<legend id="pick-legend"></legend>
<div id="pick-list"></div>
</fieldset>
<button id="pick-submit" type="submit">${t('signIn')}</button>
<button id="sign-out" type="button" class="link">${t('signOut')}</button>
</form>
<form id="screen-primary" class="screen" hidden novalidate>
<button id="primary-go" type="submit">${t('next')}</button>
</form>
<p class="actions"><button id="use-another" type="button" class="link" hidden>${t('useAnother')}</button>
<button id="cancel" type="button">${t('cancel')}</button></p>
<p id="terms" class="hint" hidden></p>
<div id="provisioning" hidden></div>
</main>`;
}
