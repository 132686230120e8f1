import { pagesDe } from './de.ts';
import { pagesEs } from './es.ts';
import { pagesFr } from './fr.ts';
import { pagesPtBR } from './pt-BR.ts';

/**
 * The messages of the email landing pages (/verify_email_address, /confirm, /reset_password,
 * /complete_transition) and of the account page (/): their markup's (rendered by the webhead,
 * src/tiers/webhead/markup/pages.ts) and their scripts'. English is the source; add a locale as another key
 * of `pagesMessages`. The markup writes texts into HTML as they are, so no text may hold markup.
 */
export const pagesEn = {
  // The markup (src/tiers/webhead/markup/pages.ts).
  landingTitle: 'Confirm your address — Persona',
  accountTitle: 'Your account — Persona',
  heading: 'Persona',
  emailLabel: 'Email address',
  passwordLabel: 'Password',
  newPasswordLabel: 'New password',
  repeatPasswordLabel: 'Type the new password again',
  passwordRules: 'At least 8 characters, at most 80.',
  languageNav: 'Language',
  footerLine: 'Persona: one email address and one password for the sites you use.',
  footerNav: 'About Persona',
  help: 'Help',
  privacy: 'Privacy',
  // The landing pages.
  checkingLink: 'Checking the link…',
  confirm: 'Confirm',
  savePassword: 'Save password',
  manageAccount: 'Manage your Persona account',
  // The account page.
  accountHeading: 'Your Persona account',
  loading: 'Loading…',
  signInHeading: 'Sign in to manage your account',
  signInLead:
    'Persona signs you in to websites with your email address, so you need no new password for each one. Sign in here to manage your addresses and your password.',
  signIn: 'Sign in',
  forgotPassword: 'Forgot your password?',
  newHere: 'New to Persona?',
  createAccount: 'Create an account',
  signUpHeading: 'Create a Persona account',
  aboutHeading: 'What is Persona?',
  aboutText:
    'Persona is a sign-in service: a site that offers “Sign in with your email” asks Persona to confirm that the address is yours.',
  aboutPoint1: 'One password for every site that uses Persona; sites never see it.',
  aboutPoint2: 'Sites learn only the email address you choose to give them.',
  aboutPoint3: 'Addresses from email providers that run their own sign-in are confirmed by those providers.',
  privacyHeading: 'Your privacy',
  privacyText:
    'Persona keeps your addresses and a hash of your password, never the password itself. It does not tell one site where else you sign in, and it sends email only to confirm an address or reset a password.',
  emailsHeading: 'Your email addresses',
  signOut: 'Sign out',
  addHeading: 'Add an address',
  addButton: 'Add address',
  addNeedsPassword: 'Your account has no password yet. Choose one: you will sign in with it at this address.',
  passwordHeading: 'Change your password',
  currentPasswordLabel: 'Current password',
  changePassword: 'Change password',
  cancelHeading: 'Cancel your account',
  cancelSure: 'I understand that this deletes my Persona account and all its addresses.',
  cancelButton: 'Cancel my account',
  // Both scripts (src/browser/page-kit.ts).
  passwordMissing: 'Enter your password.',
  passwordWrong: 'That password is not right. Check it and try again.',
  passwordTooShort: 'The password must be at least 8 characters long.',
  passwordTooLong: 'The password must be at most 80 characters long.',
  passwordsDiffer: 'The two passwords are not the same.',
  busy: 'Persona is busy right now. Try again in a moment.',
  tooMany: 'Too many attempts. Wait a minute and try again.',
  unreachable: 'Persona could not be reached. Check your connection and try again.',
  sessionEnded: 'Your session has ended. Reload the page to continue.',
  wentWrong: 'Something went wrong: {reason}',
  // The landing script.
  verifyHeading: 'Confirm your email address',
  resetHeading: 'Choose a new password',
  transitionHeading: 'Set your Persona password',
  linkBroken:
    'This link is incomplete. Open the whole link from the email, or copy all of it into the address bar.',
  linkUsed: 'This link was already used or has expired. Start again from the site where you were signing in.',
  signUpPasswordLabel: 'The password you chose when you signed up',
  accountPasswordLabel: 'Your Persona password',
  transitionPasswordLabel: 'The password you chose for Persona',
  passwordFor: 'Enter your password to confirm {email}.',
  newPasswordFor: 'Choose a new password for {email}.',
  confirming: 'Confirming {email}…',
  confirmed: 'Your address {email} is confirmed. You can close this tab; the sign-in window carries on.',
  resetDone:
    'Your new password is saved and {email} is confirmed. You can close this tab; the sign-in window carries on.',
  transitionDone:
    'Your Persona password is set for {email}. You can close this tab; the sign-in window carries on.',
  // The account script.
  emailInvalid: 'Enter an email address, like name@example.com.',
  signInWrong: 'That email address and password do not match. Check them and try again.',
  primaryAddress:
    '{email} signs in at its own provider, {domain}, not with a Persona password. Use the sign-in window of a site and continue at {domain}.',
  noSuchAccount: 'Persona has no account for {email}.',
  alreadyAccount: '{email} already has a Persona account. Sign in, or choose “Forgot your password?”.',
  resetSent:
    'We sent an email to {email}. Open the link in it to choose a new password; this page updates by itself.',
  signUpSent: 'We sent an email to {email}. Open the link in it to finish; this page updates by itself.',
  mailDoneSignIn: 'Done. Sign in with your email address and password.',
  accountLocked:
    'Too many wrong passwords for this account from browsers it has not used. Try again in an hour, sign in from a browser you have used before, or reset the password (“Forgot your password?”).',
  noEmails: 'This account has no email address.',
  remove: 'Remove',
  removeLabel: 'Remove {email}',
  removeSure: 'Yes, remove {email}',
  removeAsk: 'Remove {email} from your account? Press the button again to confirm.',
  removed: '{email} is removed from your account.',
  addSent:
    'We sent an email to {email}. Open the link in it to add the address; this page updates by itself.',
  addDone: '{email} is added to your account.',
  addFailed: '{email} was not added: its link was replaced or is no longer valid. Try again.',
  addRefused: 'The address could not be added: {reason}',
  mailThrottled: 'An email was sent to that address less than a minute ago. Wait a minute, then try again.',
  passwordChanged: 'Your password is changed. Other browsers signed in to this account are signed out.',
  oldPasswordWrong: 'Your current password is not right.',
  signedOut: 'You are signed out.',
  cancelUnticked: 'Tick the box first to confirm.',
  cancelled: 'Your account is cancelled.',
} as const;

export type PagesMessages = Record<keyof typeof pagesEn, string>;

export const pagesMessages: { readonly en: PagesMessages } & Readonly<
  Record<string, Partial<PagesMessages>>
> = {
  en: pagesEn,
  de: pagesDe,
  fr: pagesFr,
  es: pagesEs,
  'pt-BR': pagesPtBR,
};
