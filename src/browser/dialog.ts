/**
 * The dialog popup (/sign_in), opened by include.js's request(). It takes the request only from the window
 * that opened it, and only when that window's real origin (event.origin) is the one named in the URL; the
 * assertion goes back to exactly that origin, which is also the assertion's audience.
 *
 * Screens (this slice: an existing account with a password): email → address_info → password →
 * authenticate_user → a new RSA key → cert_key → an assertion for the site → `cert~assertion` to include.js.
 * Other address states get a clear message; sign-up and primary IdPs come next.
 *
 * The development/test hook at the end exists only when the page carries <meta name="persona-test-hook">,
 * which the webhead adds only with fake verification on (test-only, refused with PERSONA_ENV=production).
 */
import { ASSERTION_LIFETIME_MS, backedAssertion, generateUserKey, signAssertion } from './assertion.ts';
import {
  envelope,
  originFromFragment,
  readMessage,
  type FromDialog,
  type RequestOptions,
} from './protocol.ts';
import { WsapiError, getJson, postJson, postText, sessionContext, type SessionContext } from './wsapi.ts';

const site = originFromFragment(window.location.hash);
const opener = window.opener as Window | null;
let request: RequestOptions | undefined;

const byId = (id: string): HTMLElement | null => document.getElementById(id);
const input = (id: string): HTMLInputElement | null => {
  const element = byId(id);
  return element instanceof HTMLInputElement ? element : null;
};
const status = byId('status');
const alertBox = byId('error');
const passwordRow = byId('password-row');
const form = document.querySelector<HTMLFormElement>('form#signin');
const emailInput = input('email');
const passwordInput = input('password');
const submit = document.querySelector<HTMLButtonElement>('button#next');

const say = (text: string): void => {
  if (status) status.textContent = text;
};
/** Errors go to the role=alert element, so assistive technology announces them. */
const complain = (text: string): void => {
  if (alertBox) alertBox.textContent = text;
};

function send(message: FromDialog): void {
  if (site !== undefined && opener !== null) opener.postMessage(envelope(message), site);
}

function finish(message: FromDialog): void {
  send(message);
  window.close();
}

// ---- the sign-in screens ----

/** 'email': asking for the address; 'password': asking for its password. */
let step: 'email' | 'password' = 'email';
/** A call is running: the form ignores submits. */
let busy = false;
/** The address as address_info knows it (its stored casing), once it is known to have a password. */
let account: string | undefined;
let context: Promise<SessionContext> | undefined;

const getContext = (): Promise<SessionContext> => {
  if (context !== undefined) return context;
  const asked = sessionContext();
  context = asked;
  asked.catch(() => {
    if (context === asked) context = undefined; // asked again next time
  });
  return asked;
};

function showStep(next: 'email' | 'password'): void {
  step = next;
  if (passwordRow) passwordRow.hidden = next !== 'password';
  if (submit) submit.textContent = next === 'password' ? 'Sign in' : 'Next';
  if (next === 'password') passwordInput?.focus();
  else account = undefined;
}

function setBusy(value: boolean): void {
  busy = value;
  if (submit) submit.disabled = value;
  form?.setAttribute('aria-busy', String(value));
}

const messageFor = (err: unknown): string => {
  if (err instanceof WsapiError && err.status === 503)
    return 'Persona is busy right now. Try again in a moment.';
  if (err instanceof WsapiError && err.status === 429)
    return 'Too many attempts. Wait a minute and try again.';
  return `Something went wrong: ${err instanceof Error ? err.message : String(err)}`;
};

async function checkAddress(email: string): Promise<void> {
  const info = await getJson('address_info', { email });
  if (info.state === 'known' && info.type === 'secondary') {
    account = typeof info.normalizedEmail === 'string' ? info.normalizedEmail : email;
    say(`Enter the password for ${account}`);
    showStep('password');
  } else if (info.state === 'unknown') {
    complain(
      `${email} has no Persona account yet. Creating one from this window arrives in the next version.`,
    );
  } else {
    complain(`${email} signs in another way, which this window cannot do yet.`);
  }
}

async function signIn(email: string, pass: string, audience: string): Promise<void> {
  const ctx = await getContext();
  const answer = await postJson('authenticate_user', ctx, { email, pass, ephemeral: false });
  if (answer.success !== true) {
    complain('That password is not right. Check it and try again.');
    passwordInput?.select();
    return;
  }
  say('Signing you in…');
  const key = await generateUserKey();
  const certificate = await postText('cert_key', ctx, {
    email,
    pubkey: key.publicKeyJson,
    ephemeral: false,
  });
  const assertion = await signAssertion(key.privateKey, audience, ctx.serverNow() + ASSERTION_LIFETIME_MS);
  finish({ type: 'assertion', assertion: backedAssertion(certificate.trim(), assertion) });
}

async function onSubmit(audience: string): Promise<void> {
  const email = emailInput?.value.trim() ?? '';
  complain('');
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
    complain('Enter an email address, like name@example.com.');
    emailInput?.focus();
    return;
  }
  if (step === 'email') {
    await checkAddress(email);
    return;
  }
  const pass = passwordInput?.value ?? '';
  if (pass === '') {
    complain('Enter your password.');
    passwordInput?.focus();
    return;
  }
  await signIn(account ?? email, pass, audience);
}

function startScreens(audience: string, options: RequestOptions): void {
  if (!form || !emailInput) return;
  if (options.email !== undefined && emailInput.value === '') emailInput.value = options.email;
  form.hidden = false;
  emailInput.focus();
  // Ask early for the CSRF token and the server's clock; a failure is reported when it is needed.
  getContext().catch(() => undefined);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    onSubmit(audience)
      .catch((err: unknown) => {
        complain(messageFor(err));
      })
      .finally(() => {
        setBusy(false);
      });
  });
  // A changed address must be checked again.
  emailInput.addEventListener('input', () => {
    if (step === 'password') {
      showStep('email');
      say(`Sign in to ${options.siteName ?? audience}`);
    }
  });
}

// ---- the channel ----

if (site === undefined || opener === null) {
  say('This window signs you in to a site. Open it from the site’s “Sign in” button.');
} else {
  const audience = site;
  window.addEventListener('message', (event: MessageEvent) => {
    if (event.origin !== audience || event.source !== opener) return;
    const message = readMessage(event.data);
    if (message?.type !== 'request' || request !== undefined) return;
    request = message.options;
    say(`Sign in to ${request.siteName ?? audience}`);
    startScreens(audience, request);
  });
  byId('cancel')?.addEventListener('click', () => {
    finish({ type: 'cancel' });
  });
  send({ type: 'hello' });
}

// DEVELOPMENT/TEST ONLY: lets a test play the person without the screens.
if (document.querySelector('meta[name="persona-test-hook"]') !== null) {
  Object.defineProperty(window, 'personaDialogTestHook', {
    value: Object.freeze({
      /** The request received so far and the site it came from, or null before it arrives. */
      request: () => (request === undefined ? null : { site, options: request }),
      complete: (assertion: string) => {
        finish({ type: 'assertion', assertion });
      },
      cancel: () => {
        finish({ type: 'cancel' });
      },
    }),
  });
}
