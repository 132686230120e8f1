/**
 * The messages of the email landing pages (/verify_email_address, /confirm, /reset_password,
 * /complete_transition) and of the account page (/). English is the source.
 */
export const pagesEn = {
  landingTitle: 'Confirm your address — Persona',
  accountTitle: 'Your account — Persona',
  heading: 'Persona',
} as const;

export type PagesMessages = Record<keyof typeof pagesEn, string>;

export const pagesMessages: { readonly en: PagesMessages } & Readonly<Record<string, Partial<PagesMessages>>> = {
  en: pagesEn,
};
