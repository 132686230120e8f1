import { dialogDe } from './de.ts';
import { dialogEs } from './es.ts';
import { dialogFr } from './fr.ts';
import { dialogPtBR } from './pt-BR.ts';

/**
 * The sign-in dialog's messages (/sign_in): the markup's (src/tiers/webhead/markup/dialog.ts) and the
 * script's (src/browser/dialog.ts). English is the source; add a locale as another key of `dialogMessages`.
 */
export const dialogEn = {
  title: 'Sign in — Persona',
  heading: 'Persona',
  waiting: 'Waiting for the site…',
  notOpenedBySite: 'This window signs you in to a site. Open it from the site’s “Sign in” button.',
  signInToEyebrow: 'Sign in to',
  emailPrompt: 'Enter your email address to continue.',
  tryAgain: 'Try again',
  working: 'Working…',
  resend: 'Send the email again',
  resent: 'We sent the email to {email} again.',
  footerNav: 'About Persona',
  help: 'Help',
  privacy: 'Privacy',
  cancel: 'Cancel',
  siteLogoAlt: 'Logo of {site}',
  terms: 'By continuing you accept the {terms} and the {privacy} of {site}.',
  termsLink: 'terms of service',
  privacyLink: 'privacy policy',

  emailLabel: 'Email address',
  next: 'Next',
  emailInvalid: 'Enter an email address, like name@example.com.',

  passwordLabel: 'Password',
  passwordFor: 'Enter the password for {email}',
  signIn: 'Sign in',
  forgotPassword: 'Forgot your password?',
  sharedComputer: 'This is not my computer (forget me when I am done)',
  passwordMissing: 'Enter your password.',
  passwordWrong: 'That password is not right. Check it and try again.',
  accountLocked:
    'Too many wrong passwords for this account from browsers it has not used. Try again in an hour, sign in from a browser you have used before, or reset the password: choose “Forgot your password?”.',
  transitionToSecondary: '{domain} no longer signs you in itself. Enter your Persona password for {email}.',

  newAccountFor: 'Create a Persona account for {email}: choose a password.',
  newPasswordLabel: 'Choose a password',
  repeatPasswordLabel: 'Type it again',
  passwordRules: 'At least 8 characters, at most 80.',
  passwordTooShort: 'The password must be at least 8 characters long.',
  passwordTooLong: 'The password must be at most 80 characters long.',
  passwordsDiffer: 'The two passwords are not the same.',
  createAccount: 'Create account',
  transitionNoPassword: '{domain} no longer signs you in itself. Choose a Persona password for {email}.',
  setPassword: 'Set password',

  sendingMail: 'Sending the email…',
  checkMail:
    'We sent an email to {email}. Open the link in it to continue; this window will carry on by itself.',
  checkMailReset:
    'We sent an email to {email}. Open the link in it to choose a new password; this window will carry on by itself.',
  checkMailAdd:
    'We sent an email to {email}. Open the link in it to add the address to your account; this window will carry on by itself.',
  checkMailReverify:
    'Your password was reset, so {email} must be confirmed again. We sent an email; open the link in it to continue.',
  mailThrottled: 'An email was sent to {email} less than a minute ago. Wait a minute, then try again.',
  useAnother: 'Use another address',
  signInWithNewPassword: 'Your password was changed. Sign in with the new password.',
  confirmedElsewhere: 'The address was confirmed in another browser. Sign in with your password to continue.',
  resetNoSuchEmail: 'Persona has no account for {email}.',
  addEmailFor: 'Add {email} to your Persona account?',
  addEmail: 'Add address',
  addNeedsPassword: 'Your account has no password yet: choose one for {email}.',

  pickHeading: 'Choose the address to use',
  signOut: 'Sign out of Persona',
  signingIn: 'Signing you in…',
  offline:
    'The email provider for {domain} is not answering right now, so {email} cannot sign in. Try again later.',
  notSupported: '{email} cannot sign in with Persona.',

  primaryChecking: 'Asking {domain} about {email}…',
  primaryNeedsSignIn: 'Sign in with {domain} to use {email}. You will come back here afterwards.',
  primaryGo: 'Continue to {domain}',
  primaryFailed: '{domain} could not give you a certificate for {email}: {reason}',
  primaryCanceled: 'Signing in with {domain} was canceled.',
  primaryUnreachable: '{domain} did not answer in time. Try again later.',
  primaryBadCertificate:
    '{domain} sent a certificate that is not for {email} and this window’s key, so it was not used.',
  primaryBadAddresses: '{domain} gave no usable address for its sign-in pages, so {email} cannot sign in.',
  primaryRefused: 'Persona could not accept the certificate {domain} gave for {email}: {reason}',

  busy: 'Persona is busy right now. Try again in a moment.',
  tooMany: 'Too many attempts. Wait a minute and try again.',
  unreachable: 'Persona could not be reached. Check your connection and try again.',
  noCrypto: 'This browser cannot make keys (it has no WebCrypto), so it cannot sign in.',
  wentWrong: 'Something went wrong: {reason}',
} as const;

export type DialogMessages = Record<keyof typeof dialogEn, string>;
/** A translation has every key (test/browser/messages.test.ts checks it at run time too). */
export type DialogTranslation = DialogMessages;

export const dialogMessages: { readonly en: DialogMessages } & Readonly<
  Record<string, Partial<DialogMessages>>
> = { en: dialogEn, de: dialogDe, fr: dialogFr, es: dialogEs, 'pt-BR': dialogPtBR };
