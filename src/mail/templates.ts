/**
 * The five verification mails (reference/persona.md §5.6, §10.2), text and HTML, each with a link to its
 * landing page, in the locale asked for (texts: src/text/messages/mail.ts). The site is named as it named
 * itself, and its colour and (https) logo head the HTML when it gave them.
 */
import { negotiateLocale } from '../text/i18n.ts';
import { mailMessages, type MailMessages } from '../text/messages/mail.ts';

export type MailKind = 'new' | 'add' | 'reverify' | 'reset' | 'transition';

/** The landing page each mail links to, as the original's. */
export const LANDING_PAGES: Record<MailKind, string> = {
  new: '/verify_email_address',
  add: '/confirm',
  reverify: '/confirm',
  reset: '/reset_password',
  transition: '/complete_transition',
};

export interface MailContent {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

const escapeHtml = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

const fill = (
  template: string,
  values: Record<string, string>,
  escape: (s: string) => string = (s) => s,
): string => template.replace(/\{(\w+)\}/g, (_, key: string) => escape(values[key] ?? ''));

/** What a mail says about the site: its name and, where the wsapi took them, its colour and logo. */
export interface MailSite {
  readonly email: string;
  /** The site's name as it gave it (its host when it gave none). */
  readonly site: string;
  readonly link: string;
  /** `#abc` or `#aabbcc`, as the wsapi takes `backgroundColor`. */
  readonly backgroundColor?: string;
  /** An https URL, as the wsapi takes `siteLogo`. */
  readonly siteLogo?: string;
  /** The person's language (a BCP 47 tag); English when none of ours matches. */
  readonly locale?: string;
}

const COLOR = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i;

/** Black or white, whichever contrasts more with `color` (WCAG relative luminance). */
function textOn(color: string): string {
  const hex = color.length === 4 ? color.replace(/\w/g, (c) => c + c) : color;
  const [r = 0, g = 0, b = 0] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return (l + 0.05) / 0.05 > 1.05 / (l + 0.05) ? '#000000' : '#ffffff';
}

export function renderMail(kind: MailKind, values: MailSite): MailContent {
  const locale = negotiateLocale(
    values.locale === undefined ? [] : [values.locale],
    Object.keys(mailMessages),
  );
  const m: MailMessages = mailMessages[locale] ?? mailMessages.en;
  const copy = { subject: m[`${kind}Subject`], lead: m[`${kind}Lead`], action: m[`${kind}Action`] };
  const color =
    values.backgroundColor !== undefined && COLOR.test(values.backgroundColor)
      ? values.backgroundColor
      : '#1f5fbf';
  const logo = values.siteLogo?.startsWith('https://') === true ? values.siteLogo : undefined;
  const e = escapeHtml;
  const words = { email: values.email, site: values.site };
  return {
    subject: fill(copy.subject, words),
    text: `${fill(copy.lead, words)}\n\n${copy.action}:\n${values.link}\n\n${m.ignore}\n${fill(m.sentBy, words)}\n`,
    html: [
      `<!doctype html><html lang="${locale}"><body style="margin:0;background:#eef1f5;font-family:system-ui,sans-serif;color:#1b1f24">`,
      '<div style="max-width:36em;margin:0 auto;padding:24px 12px">',
      `<div style="background:${color};color:${textOn(color)};padding:16px 20px;border-radius:10px 10px 0 0;font-size:20px;font-weight:600">`,
      logo === undefined
        ? ''
        : `<img src="${e(logo)}" alt="" height="40" style="vertical-align:middle;margin-right:12px;background:#fff;border-radius:6px">`,
      `${e(values.site)}</div>`,
      '<div style="background:#ffffff;padding:20px;border-radius:0 0 10px 10px">',
      `<p style="margin:0 0 20px;line-height:1.5">${fill(copy.lead, words, escapeHtml)}</p>`,
      `<p style="margin:0 0 20px"><a href="${e(values.link)}" style="display:inline-block;background:#1f5fbf;color:#ffffff;padding:12px 20px;border-radius:6px;text-decoration:none;font-weight:600">${e(copy.action)}</a></p>`,
      `<p style="margin:0 0 8px;color:#555f6b;font-size:14px;word-break:break-all">${e(values.link)}</p>`,
      `<p style="margin:0;color:#555f6b;font-size:14px">${e(m.ignore)}</p></div>`,
      `<p style="color:#555f6b;font-size:13px;text-align:center">${fill(m.sentBy, words, escapeHtml)}</p>`,
      '</div></body></html>',
    ].join(''),
  };
}
