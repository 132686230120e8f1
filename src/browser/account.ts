/**
 * The account page (/, reference/persona.md §9 "manage_account"). Signed out: what Persona is, a sign-in
 * form (authenticate_user; an address of a primary IdP is sent to its provider), "Forgot your password?"
 * (stage_reset) and a new account (stage_user), each mail followed by its *_status op until the link is
 * opened, so the page works on its own. Signed in: the account's addresses (list_emails),
 * each with Remove (remove_email, on a second press); adding an address (stage_email, then
 * email_addition_status every 3 s until the mailed link is followed); changing the password
 * (update_password); signing out (logout); cancelling the account (account_cancel, once a box is ticked).
 */
import {
  Refusal,
  badPassword,
  complain,
  el,
  input,
  messageFor,
  onSubmit,
  passwordProblem,
  say,
  show,
  t,
} from './page-kit.ts';
import { WsapiError, getJson, postJson, sessionContext, type SessionContext } from './wsapi.ts';

/** As the original dialog's user.js (POLL_DURATION). */
const POLL_MS = 3000;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

const signedOut = el('signed-out');
const signedIn = el('signed-in');
const list = el('emails');
const emailsHeading = el('emails-heading');
const signInEmail = input('sign-in-email');
const addEmail = input('add-email');
const oldPassword = input('old-password');
const newPassword = input('new-password');
const cancelSure = input('cancel-sure');

let ctx: Promise<SessionContext> | undefined;
/** An account made through a primary has none: its first added address brings one. */
let hasPassword = true;
/** Bumped when the view changes: the polls of an earlier view stop. */
let generation = 0;

/** session_context (the CSRF token, the state), asked again after a failure. */
function context(): Promise<SessionContext> {
  ctx ??= sessionContext();
  ctx.catch(() => (ctx = undefined));
  return ctx;
}

/** Once the running call has settled (and its form's buttons are enabled again). */
const focus = (target: HTMLElement): void => {
  setTimeout(() => {
    target.focus();
  });
};

/** The account's password, for what the page offers. */
function setHasPassword(value: boolean): void {
  hasPassword = value;
  el('add-password').hidden = value;
  el('password-section').hidden = !value;
}

async function refreshList(): Promise<void> {
  const { emails } = await getJson('list_emails');
  // For password managers: the change-password form's account.
  if (Array.isArray(emails) && typeof emails[0] === 'string') input('password-username').value = emails[0];
  const items = (Array.isArray(emails) ? emails : []).map((email: unknown) => {
    const item = document.createElement('li');
    const button = document.createElement('button');
    button.value = String(email);
    button.textContent = t('remove');
    button.setAttribute('aria-label', t('removeLabel', { email: button.value }));
    const address = document.createElement('span');
    address.textContent = button.value;
    item.append(address, button);
    return item;
  });
  list.replaceChildren(...items);
  if (items.length === 0) list.textContent = t('noEmails');
}

function showSignIn(message: string): void {
  generation++;
  show([signedOut, signedIn], signedOut);
  say(message);
  // After signing out or cancelling, the heading (the message is announced); on arrival, the field.
  focus(message ? el('sign-in-heading') : signInEmail);
}

async function showAccount(withPassword: boolean): Promise<void> {
  setHasPassword(withPassword);
  await refreshList();
  generation++;
  show([signedOut, signedIn], signedIn);
  focus(emailsHeading);
}

/** Polls until the mailed link is followed (here or in another browser), or the addition is gone. */
function awaitAddition(email: string): void {
  const mine = generation;
  const tick = async (): Promise<void> => {
    const { status } = await getJson('email_addition_status', { email });
    if (mine !== generation) return;
    if (status === 'pending') {
      setTimeout(poll, POLL_MS);
      return;
    }
    if (status !== 'complete') throw new Refusal(t('addFailed', { email }));
    // The addition may have brought the account its first password.
    ctx = undefined;
    setHasPassword((await context()).hasPassword);
    await refreshList();
    say(t('addDone', { email }));
  };
  const poll = (): void => {
    if (mine !== generation) return;
    tick().catch((err: unknown) => {
      complain(messageFor(err));
      // A busy or unreachable server may come back; anything else ends the wait.
      if (err instanceof WsapiError && (err.status === 503 || err.status === 0)) setTimeout(poll, POLL_MS);
    });
  };
  setTimeout(poll, POLL_MS);
}

/** Polls a *_status op for `email` until it is no longer pending, or the view changes (undefined). */
async function statusOf(op: string, email: string): Promise<string | undefined> {
  const mine = generation;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (mine !== generation) return undefined;
    let status: unknown;
    try {
      ({ status } = await getJson(op, { email }));
    } catch (err) {
      // A busy or unreachable server may come back; anything else ends the wait.
      if (err instanceof WsapiError && (err.status === 503 || err.status === 0)) continue;
      throw err;
    }
    if (mine !== generation) return undefined;
    if (status !== 'pending') return String(status);
  }
}

/** After a mail's link was opened in this browser: signed in; elsewhere: sign in with the password. */
async function afterMail(outcome: string | undefined, email: string): Promise<void> {
  if (outcome === undefined) return;
  ctx = undefined;
  const state = await context();
  if (outcome === 'complete' && state.authenticated) {
    say('');
    await showAccount(state.hasPassword);
    return;
  }
  signInEmail.value = email;
  showSignIn(t('mailDoneSignIn'));
}

/** Waits for the mail's link in the background: the forms stay usable meanwhile. */
function follow(op: string, email: string): void {
  statusOf(op, email)
    .then((outcome) => afterMail(outcome, email))
    .catch((err: unknown) => {
      complain(messageFor(err));
    });
}

async function forgotPassword(email: string): Promise<void> {
  const answer = await postJson('stage_reset', await context(), { email, site: window.location.origin });
  if (answer.success !== true) throw new Refusal(t('noSuchAccount', { email }));
  say(t('resetSent', { email }));
  follow('password_reset_status', email);
}

/** Signing in failed: a primary IdP's address has no Persona password to match. */
async function explainFailure(email: string, code: unknown): Promise<string> {
  if (code === 'account locked') return t('accountLocked');
  const info = await getJson('address_info', { email }).catch((): Record<string, unknown> => ({}));
  if (info.type === 'primary')
    return t('primaryAddress', {
      email,
      domain: typeof info.issuer === 'string' ? info.issuer : (email.split('@')[1] ?? ''),
    });
  return t('signInWrong');
}

const showSignUp = el('show-sign-up');
showSignUp.addEventListener('click', () => {
  el('sign-up-card').hidden = false;
  showSignUp.setAttribute('aria-expanded', 'true');
  const typed = signInEmail.value.trim();
  if (typed !== '') input('sign-up-email').value = typed;
  focus(input('sign-up-email'));
});

onSubmit(el('sign-up'), async () => {
  const emailField = input('sign-up-email');
  const email = emailField.value.trim();
  if (!EMAIL.test(email)) {
    emailField.focus();
    throw new Refusal(t('emailInvalid'));
  }
  const chosen = input('sign-up-new-password');
  const problem = passwordProblem(chosen.value, input('sign-up-repeat-password').value);
  if (problem) {
    chosen.focus();
    throw new Refusal(problem);
  }
  const info = await getJson('address_info', { email });
  if (info.type === 'primary')
    throw new Refusal(
      t('primaryAddress', { email, domain: typeof info.issuer === 'string' ? info.issuer : '' }),
    );
  if (info.state !== 'unknown') throw new Refusal(t('alreadyAccount', { email }));
  const answer = await postJson('stage_user', await context(), {
    email,
    pass: chosen.value,
    site: window.location.origin,
  });
  if (answer.success !== true) throw new Refusal(t('addRefused', { reason: String(answer.reason) }));
  chosen.value = '';
  input('sign-up-repeat-password').value = '';
  say(t('signUpSent', { email }));
  follow('user_creation_status', email);
});

onSubmit(el('sign-in'), async (submitter) => {
  const email = signInEmail.value.trim();
  const pass = input('sign-in-password');
  if (!EMAIL.test(email)) {
    signInEmail.focus();
    throw new Refusal(t('emailInvalid'));
  }
  if (submitter?.id === 'forgot') return forgotPassword(email);
  const problem = badPassword(pass.value);
  // A password outside the wsapi's bounds cannot be right: not sent.
  const answer = problem
    ? {}
    : await postJson('authenticate_user', await context(), { email, pass: pass.value, ephemeral: false });
  if (answer.success !== true) {
    pass.select();
    throw new Refusal(pass.value === '' ? problem : await explainFailure(email, answer.code));
  }
  pass.value = '';
  say('');
  await showAccount(true);
});

onSubmit(el('emails-form'), async (submitter) => {
  if (!(submitter instanceof HTMLButtonElement)) return;
  const email = submitter.value;
  // The first press asks; a second press on the same button removes.
  if (submitter.dataset.armed === undefined) {
    await refreshList();
    const again = [...list.querySelectorAll('button')].find((button) => button.value === email);
    if (!again) return;
    again.dataset.armed = '';
    again.textContent = t('removeSure', { email });
    again.removeAttribute('aria-label');
    say(t('removeAsk', { email }));
    focus(again);
    return;
  }
  await postJson('remove_email', await context(), { email });
  await refreshList();
  say(t('removed', { email }));
  focus(emailsHeading);
});

onSubmit(el('sign-out'), async () => {
  await postJson('logout', await context(), {});
  showSignIn(t('signedOut'));
});

onSubmit(el('add'), async () => {
  const email = addEmail.value.trim();
  if (!EMAIL.test(email)) {
    addEmail.focus();
    throw new Refusal(t('emailInvalid'));
  }
  const body: Record<string, unknown> = { email, site: window.location.origin };
  // Our stage_email wants `pass` exactly when the account has none yet.
  if (!hasPassword) {
    const chosen = input('add-new-password');
    const problem = passwordProblem(chosen.value, input('add-repeat-password').value);
    if (problem) {
      chosen.focus();
      throw new Refusal(problem);
    }
    body.pass = chosen.value;
  }
  const answer = await postJson('stage_email', await context(), body).catch((err: unknown) => {
    // The per-address mail throttle, rather than the per-IP limit (src/tiers/dbwriter/kit.ts).
    throw err instanceof WsapiError && err.body.includes('that address')
      ? new Refusal(t('mailThrottled'))
      : err;
  });
  if (answer.success !== true) throw new Refusal(t('addRefused', { reason: String(answer.reason) }));
  addEmail.value = '';
  say(t('addSent', { email }));
  awaitAddition(email);
});

onSubmit(el('password'), async () => {
  const oldpass = oldPassword.value;
  const wrongOld = badPassword(oldpass);
  const problem = wrongOld ?? passwordProblem(newPassword.value, input('repeat-password').value);
  if (problem) {
    (wrongOld ? oldPassword : newPassword).focus();
    throw new Refusal(oldpass && wrongOld ? t('oldPasswordWrong') : problem);
  }
  const answer = await postJson('update_password', await context(), { oldpass, newpass: newPassword.value });
  if (answer.success !== true) {
    oldPassword.select();
    throw new Refusal(t('oldPasswordWrong'));
  }
  for (const id of ['old-password', 'new-password', 'repeat-password']) input(id).value = '';
  say(t('passwordChanged'));
});

onSubmit(el('cancel'), async () => {
  if (!cancelSure.checked) {
    cancelSure.focus();
    throw new Refusal(t('cancelUnticked'));
  }
  await postJson('account_cancel', await context(), {});
  cancelSure.checked = false;
  showSignIn(t('cancelled'));
});

context()
  .then((state) => {
    say('');
    if (state.authenticated) return showAccount(state.hasPassword);
    showSignIn('');
    return undefined;
  })
  .catch((err: unknown) => {
    say('');
    complain(messageFor(err));
  });
