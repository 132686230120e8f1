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
  // The landing pages.
  checkingLink: 'Checking the link…',
  confirm: 'Confirm',
  savePassword: 'Save password',
  manageAccount: 'Manage your Persona account',
  // The account page.
  accountHeading: 'Your Persona account',
  loading: 'Loading…',
  signInHeading: 'Sign in to manage your account',
  signIn: 'Sign in',
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
  accountLocked:
    'This account is locked after too many wrong passwords. Reset the password from a site’s sign-in window to unlock it.',
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
};
