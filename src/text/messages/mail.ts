/**
 * The verification mails' texts (src/mail/templates.ts renders them). `{site}` is the site's name as it
 * gave it to the dialog (its host when it gave none), `{email}` the address. English is the source.
 */
import { mailDe } from './de.ts';
import { mailEs } from './es.ts';
import { mailFr } from './fr.ts';
import { mailPtBR } from './pt-BR.ts';

export const mailEn = {
  newSubject: 'Confirm your email address for {site}',
  newLead: 'To finish signing in to {site} with {email}, confirm your email address.',
  newAction: 'Confirm your email address',
  addSubject: 'Confirm your email address for {site}',
  addLead: 'To add {email} to your Persona account and sign in to {site}, confirm the address.',
  addAction: 'Confirm this address',
  reverifySubject: 'Confirm your email address for {site}',
  reverifyLead:
    'Your Persona password was reset, so {email} needs to be confirmed again before you can use it on {site}.',
  reverifyAction: 'Confirm this address',
  resetSubject: 'Reset your Persona password for {site}',
  resetLead:
    'Someone, hopefully you, asked to reset the Persona password of {email}. Choose a new password to sign in to {site}.',
  resetAction: 'Choose a new password',
  transitionSubject: 'Set your Persona password for {site}',
  transitionLead:
    'Your email provider no longer signs you in to Persona for {email}. Choose a password to keep signing in to {site}.',
  transitionAction: 'Choose a password',
  ignore: 'If you did not ask for this, ignore this message: nothing changes until the link is opened.',
  sentBy: 'Sent by Persona, the sign-in service {site} uses.',
} as const;

export type MailMessages = Record<keyof typeof mailEn, string>;

export const mailMessages: { readonly en: MailMessages } & Readonly<Record<string, MailMessages>> = {
  en: mailEn,
  de: mailDe,
  fr: mailFr,
  es: mailEs,
  'pt-BR': mailPtBR,
};
