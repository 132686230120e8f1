/**
 * The markup of the email landing pages and of the account page; src/browser/landing.ts and account.ts
 * drive it. Every view is here, hidden until the script shows it, so the script only switches views and
 * fills in addresses. Texts come from the catalogue (src/text/messages/pages.ts), which holds no markup.
 * Each page has Persona's bar with the language switch (?lang=, kept by page-kit.ts), cards, and a footer.
 */
import { LOCALE_NAMES, type Translate } from '../../../text/i18n.ts';
import type { PagesMessages } from '../../../text/messages/pages.ts';
import { PERSONA_MARK } from './style.ts';

type T = Translate<PagesMessages>;

/** A labelled field; `rest` adds attributes. */
const field = (id: string, label: string, type: string, rest = ''): string =>
  `<label for="${id}">${label}</label>\n<input id="${id}" name="${id}" type="${type}"${rest ? ` ${rest}` : ''}>`;

/** A new password typed twice, with the rule it must follow. */
const newPasswordFields = (t: T, prefix: string): string =>
  `${field(`${prefix}new-password`, t('newPasswordLabel'), 'password', `autocomplete="new-password" maxlength="80" aria-describedby="${prefix}rules"`)}
<p id="${prefix}rules" class="hint">${t('passwordRules')}</p>
${field(`${prefix}repeat-password`, t('repeatPasswordLabel'), 'password', 'autocomplete="new-password" maxlength="80"')}`;

/** A username field for password managers, filled in by the script; not for people. */
const usernameFor = (id: string): string =>
  `<input id="${id}" class="sr-only" type="email" name="username" autocomplete="username" readonly tabindex="-1" aria-hidden="true">`;

const regions = (status: string): string =>
  `<p id="status" role="status" aria-live="polite">${status}</p>\n<p id="error" role="alert"></p>`;

const primary = (text: string, id = ''): string =>
  `<p class="actions"><button type="submit" class="primary"${id ? ` id="${id}"` : ''}>${text}</button></p>`;

/** Persona's bar: the mark, and the language switch (page-kit.ts keeps the rest of the URL). */
function top(t: T, locale: string, locales: readonly string[]): string {
  const links = locales.map(
    (l) =>
      `<a href="?lang=${l}" hreflang="${l}" lang="${l}"${l === locale ? ' aria-current="true"' : ''}>${LOCALE_NAMES[l] ?? l}</a>`,
  );
  return `<header class="top"><a class="brand" href="/">${PERSONA_MARK}Persona</a>
<nav id="languages" aria-label="${t('languageNav')}">${links.join('\n')}</nav></header>`;
}

const foot = (t: T): string =>
  `<footer class="foot"><span>${t('footerLine')}</span>
<nav aria-label="${t('footerNav')}"><a href="/#about">${t('help')}</a><a href="/#privacy">${t('privacy')}</a></nav></footer>`;

export function landingMarkup(t: T, locale: string, locales: readonly string[]): string {
  return `${top(t, locale, locales)}
<main>
<div class="card">
<h1 id="heading">${t('heading')}</h1>
${regions(t('checkingLink'))}
<form id="prove" hidden novalidate>
${usernameFor('prove-username')}
<label id="password-label" for="password">${t('passwordLabel')}</label>
<input id="password" name="password" type="password" autocomplete="current-password">
${primary(t('confirm'))}
</form>
<form id="choose" hidden novalidate>
${usernameFor('choose-username')}
${newPasswordFields(t, '')}
${primary(t('savePassword'))}
</form>
<p id="done" hidden><a href="/">${t('manageAccount')}</a></p>
</div>
</main>
${foot(t)}`;
}

export function accountMarkup(t: T, locale: string, locales: readonly string[]): string {
  return `${top(t, locale, locales)}
<main>
<h1>${t('accountHeading')}</h1>
${regions(t('loading'))}
<div id="signed-out" hidden>
<section class="card">
<h2 id="sign-in-heading" tabindex="-1">${t('signInHeading')}</h2>
<p class="lead">${t('signInLead')}</p>
<form id="sign-in" novalidate>
${field('sign-in-email', t('emailLabel'), 'email', 'autocomplete="username"')}
${field('sign-in-password', t('passwordLabel'), 'password', 'autocomplete="current-password"')}
<p class="actions"><button type="submit" class="primary" id="sign-in-submit">${t('signIn')}</button>
<button type="submit" class="link" id="forgot">${t('forgotPassword')}</button></p>
</form>
<p>${t('newHere')} <button type="button" class="link" id="show-sign-up" aria-controls="sign-up-card" aria-expanded="false">${t('createAccount')}</button></p>
</section>
<section class="card" id="sign-up-card" hidden>
<h2 id="sign-up-heading" tabindex="-1">${t('signUpHeading')}</h2>
<form id="sign-up" novalidate>
${field('sign-up-email', t('emailLabel'), 'email', 'autocomplete="username"')}
${newPasswordFields(t, 'sign-up-')}
${primary(t('createAccount'))}
</form>
</section>
</div>
<div id="signed-in" hidden>
<section class="card">
<h2 id="emails-heading" tabindex="-1">${t('emailsHeading')}</h2>
<form id="emails-form" novalidate><ul id="emails" class="emails"></ul></form>
<form id="sign-out" novalidate><button type="submit">${t('signOut')}</button></form>
</section>
<section class="card">
<h2>${t('addHeading')}</h2>
<form id="add" novalidate>
${field('add-email', t('emailLabel'), 'email', 'autocomplete="email"')}
<div id="add-password" hidden>
<p class="hint">${t('addNeedsPassword')}</p>
${newPasswordFields(t, 'add-')}
</div>
${primary(t('addButton'))}
</form>
</section>
<section class="card" id="password-section">
<h2>${t('passwordHeading')}</h2>
<form id="password" novalidate>
${usernameFor('password-username')}
${field('old-password', t('currentPasswordLabel'), 'password', 'autocomplete="current-password"')}
${newPasswordFields(t, '')}
${primary(t('changePassword'))}
</form>
</section>
<section class="card">
<h2>${t('cancelHeading')}</h2>
<form id="cancel" novalidate>
<p class="check"><input id="cancel-sure" name="cancel-sure" type="checkbox"><label for="cancel-sure">${t('cancelSure')}</label></p>
<p class="actions"><button type="submit" class="danger">${t('cancelButton')}</button></p>
</form>
</section>
</div>
<section class="card about" id="about" aria-labelledby="about-heading">
<h2 id="about-heading">${t('aboutHeading')}</h2>
<p>${t('aboutText')}</p>
<ul><li>${t('aboutPoint1')}</li><li>${t('aboutPoint2')}</li><li>${t('aboutPoint3')}</li></ul>
<h2 id="privacy">${t('privacyHeading')}</h2>
<p>${t('privacyText')}</p>
</section>
</main>
${foot(t)}`;
}
