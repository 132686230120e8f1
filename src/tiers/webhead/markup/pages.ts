/** The markup of the email landing pages and of the account page; src/browser/landing.ts and account.ts drive it. */
import type { Translate } from '../../../browser/i18n.ts';
import type { PagesMessages } from '../../../browser/messages/pages.ts';

export function landingMarkup(t: Translate<PagesMessages>): string {
  return `<main><h1>${t('heading')}</h1><p id="status" role="status" aria-live="polite"></p><p id="error" role="alert"></p></main>`;
}

export function accountMarkup(t: Translate<PagesMessages>): string {
  return `<main><h1>${t('heading')}</h1><p id="status" role="status" aria-live="polite"></p><p id="error" role="alert"></p></main>`;
}
