/**
 * The email landing pages (reference/persona.md §5.6–5.8): one page for the four links our mails carry,
 * told apart by the path. The token in `?token=` names the pending verification; `email_for_token` gives
 * its address and whether this browser must prove the password (`must_auth`: it is not the browser that
 * asked, or not signed in as the account). Then the path's completion op runs, with the password when
 * asked for; a reset sends the new password instead. The dialog that sent the mail polls its status op
 * and carries on by itself, so success only says so.
 */
import type { PagesMessages } from '../text/messages/pages.ts';
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

type Key = keyof PagesMessages;

/** Per path: the completion op, the heading, what the password asked for is, the success message. */
const LANDINGS: Readonly<Record<string, readonly [op: string, heading: Key, label: Key, done: Key]>> = {
  '/verify_email_address': ['complete_user_creation', 'verifyHeading', 'signUpPasswordLabel', 'confirmed'],
  '/confirm': ['complete_email_confirmation', 'verifyHeading', 'accountPasswordLabel', 'confirmed'],
  '/reset_password': ['complete_reset', 'resetHeading', 'accountPasswordLabel', 'resetDone'],
  '/complete_transition': [
    'complete_transition',
    'transitionHeading',
    'transitionPasswordLabel',
    'transitionDone',
  ],
};

const proveForm = el('prove');
const chooseForm = el('choose');
const forms = [proveForm, chooseForm];
const password = input('password');
const newPassword = input('new-password');

async function start([op, heading, label, done]: (typeof LANDINGS)[string]): Promise<void> {
  el('heading').textContent = t(heading);
  const token = new URLSearchParams(window.location.search).get('token') ?? '';
  // The wsapi's token rule: 48 letters and digits. Anything else is a mangled link.
  if (!/^[A-Za-z0-9]{48}$/.test(token)) throw new Refusal(t('linkBroken'));
  // The CSRF token for the completion, asked for at the same time.
  const [info, ctx] = await Promise.all([getJson('email_for_token', { token }), sessionContext()]);
  if (info.success !== true || typeof info.email !== 'string') throw new Refusal(t('linkUsed'));
  const email = info.email;
  // Password managers pair the password with the address it is for.
  for (const id of ['prove-username', 'choose-username']) input(id).value = email;

  const askPassword = (): void => {
    el('password-label').textContent = t(label);
    say(t('passwordFor', { email }));
    show(forms, proveForm);
    password.focus();
  };

  async function complete(context: SessionContext, pass?: string): Promise<void> {
    say(t('confirming', { email }));
    let answer: Record<string, unknown>;
    try {
      answer = await postJson(op, context, pass === undefined ? { token } : { token, pass });
    } catch (err) {
      // 401 (src/tiers/dbwriter/completion.ts): this browser must prove the password, or proved a wrong one.
      if (!(err instanceof WsapiError) || err.status !== 401) throw err;
      askPassword();
      complain(t(pass !== undefined && err.body.includes('mismatch') ? 'passwordWrong' : 'passwordMissing'));
      password.select();
      return;
    }
    show(forms);
    if (answer.success !== true) throw new Refusal(t('linkUsed'));
    say(t(done, { email }));
    el('done').hidden = false;
  }

  onSubmit(proveForm, async () => {
    const problem = badPassword(password.value);
    if (problem !== undefined) {
      complain(problem);
      password.select();
      return;
    }
    await complete(ctx, password.value);
  });
  onSubmit(chooseForm, async () => {
    const problem = passwordProblem(newPassword.value, input('repeat-password').value);
    if (problem !== undefined) {
      complain(problem);
      newPassword.focus();
      return;
    }
    await complete(ctx, newPassword.value);
  });

  // A reset (new flow: nothing staged) takes the new password, whichever browser follows the link.
  if (op === 'complete_reset' && info.needs_password !== false) {
    say(t('newPasswordFor', { email }));
    show(forms, chooseForm);
    newPassword.focus();
  } else if (info.must_auth !== false) askPassword();
  else await complete(ctx);
}

const landing = LANDINGS[window.location.pathname];
if (landing !== undefined)
  start(landing).catch((err: unknown) => {
    say('');
    complain(messageFor(err));
  });
