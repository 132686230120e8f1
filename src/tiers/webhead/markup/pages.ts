/**
 * The markup of the email landing pages and of the account page; src/browser/landing.ts and account.ts
 * drive it. Every view is here, hidden until the script shows it, so the script only switches views and
 * fills in addresses. Texts come from the catalogue (src/text/messages/pages.ts), which holds no markup.
 */
import type { Translate } from '../../../text/i18n.ts';
import type { PagesMessages } from '../../../text/messages/pages.ts';

type T = Translate<PagesMessages>;

/** A labelled field; `rest` adds attributes. */
const field = (id: string, label: string, type: string, rest = ''): string =>
  `<label for="${id}">${label}</label>\n<input id="${id}" name="${id}" type="${type}"${rest ? ` ${rest}` : ''}>`;

/** A new password typed twice, with the rule it must follow. */
const newPasswordFields = (t: T, prefix: string): string =>
  `${field(`${prefix}new-password`, t('newPasswordLabel'), 'password', `autocomplete="new-password" maxlength="80" aria-describedby="${prefix}rules"`)}
<p id="${prefix}rules" class="hint">${t('passwordRules')}</p>
${field(`${prefix}repeat-password`, t('repeatPasswordLabel'), 'password', 'autocomplete="new-password" maxlength="80"')}`;

const regions = (status: string): string =>
  `<p id="status" role="status" aria-live="polite">${status}</p>\n<p id="error" role="alert"></p>`;

export function landingMarkup(t: T): string {
  return `<main>
<h1 id="heading">${t('heading')}</h1>
${regions(t('checkingLink'))}
<form id="prove" hidden novalidate>
<label id="password-label" for="password">${t('passwordLabel')}</label>
<input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">${t('confirm')}</button>
</form>
<form id="choose" hidden novalidate>
${newPasswordFields(t, '')}
<button type="submit">${t('savePassword')}</button>
</form>
<p id="done" hidden><a href="/">${t('manageAccount')}</a></p>
</main>`;
}

export function accountMarkup(t: T): string {
  return `<main>
<h1>${t('accountHeading')}</h1>
${regions(t('loading'))}
<section id="signed-out" hidden>
<h2 id="sign-in-heading" tabindex="-1">${t('signInHeading')}</h2>
<form id="sign-in" novalidate>
${field('sign-in-email', t('emailLabel'), 'email', 'autocomplete="username"')}
${field('sign-in-password', t('passwordLabel'), 'password', 'autocomplete="current-password"')}
<button type="submit">${t('signIn')}</button>
</form>
</section>
<div id="signed-in" hidden>
<section>
<h2 id="emails-heading" tabindex="-1">${t('emailsHeading')}</h2>
<form id="emails-form" novalidate><ul id="emails"></ul></form>
<form id="sign-out" novalidate><button type="submit">${t('signOut')}</button></form>
</section>
<section>
<h2>${t('addHeading')}</h2>
<form id="add" novalidate>
${field('add-email', t('emailLabel'), 'email', 'autocomplete="email"')}
<div id="add-password" hidden>
<p class="hint">${t('addNeedsPassword')}</p>
${newPasswordFields(t, 'add-')}
</div>
<button type="submit">${t('addButton')}</button>
</form>
</section>
<section id="password-section">
<h2>${t('passwordHeading')}</h2>
<form id="password" novalidate>
${field('old-password', t('currentPasswordLabel'), 'password', 'autocomplete="current-password"')}
${newPasswordFields(t, '')}
<button type="submit">${t('changePassword')}</button>
</form>
</section>
<section>
<h2>${t('cancelHeading')}</h2>
<form id="cancel" novalidate>
<p class="check"><input id="cancel-sure" name="cancel-sure" type="checkbox"> <label for="cancel-sure">${t('cancelSure')}</label></p>
<button type="submit">${t('cancelButton')}</button>
</form>
</section>
</div>
</main>`;
}
