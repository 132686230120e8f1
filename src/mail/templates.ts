/**
 * The five verification mails (reference/persona.md §5.6, §10.2), text and HTML, each with a link to its
 * landing page. Messages are kept here, one place, ready for translation.
 */
export type MailKind = 'new' | 'add' | 'reverify' | 'reset' | 'transition';

/** The landing page each mail links to, as the original's. */
export const LANDING_PAGES: Record<MailKind, string> = {
  new: '/verify_email_address',
  add: '/confirm',
  reverify: '/confirm',
  reset: '/reset_password',
  transition: '/complete_transition',
};

const COPY: Record<MailKind, { subject: string; lead: string; action: string }> = {
  new: {
    subject: 'Confirm your email address for {site}',
    lead: 'Thanks for choosing Persona. To finish signing in to {site} with {email}, confirm your email address.',
    action: 'Confirm your email address',
  },
  add: {
    subject: 'Confirm your email address for {site}',
    lead: 'To add {email} to your Persona account and sign in to {site}, confirm the address.',
    action: 'Confirm this address',
  },
  reverify: {
    subject: 'Confirm your email address for {site}',
    lead: 'Your Persona password was reset, so {email} needs to be confirmed again before you can use it on {site}.',
    action: 'Confirm this address',
  },
  reset: {
    subject: 'Reset your Persona password for {site}',
    lead: 'Someone, hopefully you, asked to reset the Persona password of {email}. Choose a new password to sign in to {site}.',
    action: 'Choose a new password',
  },
  transition: {
    subject: 'Set your Persona password for {site}',
    lead: 'Your email provider no longer signs you in to Persona for {email}. Choose a password to keep signing in to {site}.',
    action: 'Choose a password',
  },
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

export function renderMail(
  kind: MailKind,
  values: { email: string; site: string; link: string },
): MailContent {
  const copy = COPY[kind];
  const footer =
    'If you did not ask for this, ignore this message: nothing changes until the link is opened.';
  return {
    subject: fill(copy.subject, values),
    text: `${fill(copy.lead, values)}\n\n${copy.action}:\n${values.link}\n\n${footer}\n`,
    html: [
      '<!doctype html><html><body style="font-family:sans-serif;max-width:36em">',
      `<p>${fill(copy.lead, values, escapeHtml)}</p>`,
      `<p><a href="${escapeHtml(values.link)}">${escapeHtml(copy.action)}</a></p>`,
      `<p style="color:#555">${escapeHtml(footer)}</p>`,
      '</body></html>',
    ].join(''),
  };
}
