/**
 * The dialog popup (/sign_in), opened by include.js's request(). It takes the request only from the window
 * that opened it, and only when that window's real origin (event.origin) is the one named in the URL; the
 * assertion goes back to exactly that origin, which is also the assertion's audience.
 *
 * The screens live in the markup (src/tiers/webhead/markup/dialog.ts); this script switches between them:
 * - signed in to Persona already → pick one of the account's addresses (the one last used on this site
 *   first) → its key and certificate, kept from before or made now → an assertion for the site;
 * - otherwise the address → address_info, and by its answer: the password; a new account (a password, the
 *   mail, waiting for its link to be opened); an added address; re-verification; the transitions between a
 *   primary IdP and a password; or the primary IdP itself (dialog-primary.ts);
 * - "Forgot your password?" → the reset mail → waiting → signed in once the new password is set.
 * Waiting polls the matching *_status op every 3 s, as the original did.
 *
 * The development/test hook at the end exists only when the page carries <meta name="persona-test-hook">,
 * which the webhead adds only with fake verification on (test-only, refused with PERSONA_ENV=production).
 */
import {
  ASSERTION_LIFETIME_MS,
  backedAssertion,
  certificatePayload,
  generateUserKey,
  signAssertion,
} from './assertion.ts';
import { signInWithPrimary, type DialogUi, type PrimaryAddress } from './dialog-primary.ts';
import { pageTranslator } from './i18n.ts';
import {
  forgetEverything,
  keepKey,
  lastUsedOn,
  rememberUse,
  setSharedComputer,
  sharedComputer,
  storedKey,
} from './key-store.ts';
import { dialogEn } from './messages/dialog.ts';
import { AUTH_CANCEL_PATH, AUTH_RETURN_PATH } from './provisioning-protocol.ts';
import {
  envelope,
  originFromFragment,
  parseHttpUrl,
  parseOrigin,
  readMessage,
  type FromDialog,
  type RequestOptions,
} from './protocol.ts';
import { WsapiError, getJson, postJson, postText, sessionContext, type SessionContext } from './wsapi.ts';

const t = pageTranslator(dialogEn);
/** How often a waiting screen asks whether the mail's link was opened (the original's 3 s). */
const POLL_MS = 3000;
/** A kept certificate is used only while it has this long left. */
const CERTIFICATE_MARGIN_MS = 5 * 60 * 1000;
const MIN_PASSWORD = 8;
const MAX_PASSWORD = 80;
/** Where the dialog keeps its place while the window visits a primary IdP (dialog-primary.ts). */
const RETURN_KEY = 'persona.dialog.return';

// ---- where we are: a fresh dialog, or back from a primary IdP's authentication page ----

interface SavedReturn {
  readonly site: string;
  readonly email: string;
  readonly ephemeral: boolean;
}

function takeSavedReturn(): SavedReturn | undefined {
  try {
    const text = sessionStorage.getItem(RETURN_KEY);
    sessionStorage.removeItem(RETURN_KEY);
    const saved: unknown = JSON.parse(text ?? 'null');
    if (typeof saved !== 'object' || saved === null) return undefined;
    const { site: savedSite, email, ephemeral } = saved as Record<string, unknown>;
    const origin = parseOrigin(typeof savedSite === 'string' ? savedSite : undefined);
    if (origin === undefined || typeof email !== 'string') return undefined;
    return { site: origin, email, ephemeral: ephemeral === true };
  } catch {
    return undefined;
  }
}

/** Back from a primary IdP's authentication page (authentication_api.js sends the window to one of these). */
const here = `${window.location.pathname}${window.location.search}`;
const returnKind = here === AUTH_RETURN_PATH ? 'done' : here === AUTH_CANCEL_PATH ? 'canceled' : undefined;
const returned = returnKind === undefined ? undefined : takeSavedReturn();
const site = returned?.site ?? originFromFragment(window.location.hash);
const opener = window.opener as Window | null;
let request: RequestOptions | undefined;

// ---- the page ----

const byId = (id: string): HTMLElement | null => document.getElementById(id);
const field = (id: string): HTMLInputElement => {
  const element = byId(id);
  if (!(element instanceof HTMLInputElement)) throw new Error(`the page has no input #${id}`);
  return element;
};
const status = byId('status');
const alertBox = byId('error');
const frames = byId('provisioning') ?? document.body;
const useAnother = byId('use-another');

const SCREENS = ['email', 'password', 'new-password', 'confirm', 'wait', 'pick', 'primary'] as const;
type Screen = (typeof SCREENS)[number];

const say = (text: string): void => {
  if (status) status.textContent = text;
};
/** Errors go to the role=alert element, so assistive technology announces them. */
const complain = (text: string): void => {
  if (alertBox) alertBox.textContent = text;
};

/** Bumped at every screen change: a poll started for an earlier screen stops. */
let generation = 0;
let interactive = false;

function show(screen: Screen): void {
  generation += 1;
  for (const name of SCREENS) {
    const element = byId(`screen-${name}`);
    if (element) element.hidden = name !== screen;
  }
  if (useAnother) useAnother.hidden = screen === 'email';
  // Password managers pair the password with the address it is for.
  for (const id of ['password-username', 'new-username']) field(id).value = current;
  const first = byId(`screen-${screen}`)?.querySelector<HTMLElement>('input:not([type=checkbox]), button');
  first?.focus();
  if (!interactive) {
    interactive = true;
    // bench:browser reads this: the first screen is usable.
    performance.mark('persona:interactive');
  }
}

function send(message: FromDialog): void {
  if (site !== undefined && opener !== null) opener.postMessage(envelope(message), site);
}

function finish(message: FromDialog): void {
  send(message);
  window.close();
}

const retryRow = byId('retry-row');
/** The step a "Try again" runs again: the one Persona was too busy for (after wsapi.ts's own retries). */
let retryable: (() => Promise<void>) | undefined;
function offerRetry(step: (() => Promise<void>) | undefined): void {
  retryable = step;
  if (retryRow) retryRow.hidden = step === undefined;
}

function messageFor(err: unknown): string {
  if (err instanceof WsapiError) {
    if (err.status === 0) return t('unreachable');
    if (err.status === 503) return t('busy');
    if (err.status === 429) return t('tooMany');
  }
  if (err instanceof Error && /WebCrypto/.test(err.message)) return t('noCrypto');
  return t('wentWrong', { reason: err instanceof Error ? err.message : String(err) });
}

/** A call is running: forms ignore submits and the buttons are disabled. */
let busy = false;
function setBusy(value: boolean): void {
  busy = value;
  for (const button of document.querySelectorAll<HTMLButtonElement>('main button'))
    if (button.id !== 'cancel') button.disabled = value;
  document.querySelector('main')?.setAttribute('aria-busy', String(value));
}

/** Runs one step of the journey: one at a time, errors announced. */
/** The latest step: a step left waiting (see waitFor) neither reports nor frees the buttons when it ends. */
let latest = 0;
function act(step: () => Promise<void>): void {
  if (busy) return;
  complain('');
  offerRetry(undefined);
  setBusy(true);
  const mine = (latest += 1);
  step()
    .catch((err: unknown) => {
      if (mine !== latest) return;
      complain(messageFor(err));
      // Busy or unreachable: not a dead end, the person may ask again.
      if (err instanceof WsapiError && (err.status === 503 || err.status === 0)) {
        offerRetry(step);
        setTimeout(() => byId('retry')?.focus());
      }
    })
    .finally(() => {
      if (mine === latest) setBusy(false);
    });
}

function onSubmit(screen: Screen, step: () => Promise<void>): void {
  byId(`screen-${screen}`)?.addEventListener('submit', (event) => {
    event.preventDefault();
    act(step);
  });
}

// ---- the journey ----

let audience = '';
let siteName = '';
let context: SessionContext | undefined;
/** The address being signed in, as Persona stores it. */
let current = '';
/** "This is not my computer": an ephemeral session, and nothing kept here. */
let ephemeral = false;
/** What the new-password screen is for. */
let choosing: 'account' | 'transition' | 'addition' = 'account';
/** The password screen re-verifies the address after signing in (it became unverified by a reset). */
let reverifyAfterSignIn = false;

/**
 * Asked for as the page loads, while the site's request is on its way: the first screen then waits for one
 * round trip, not two (bench:browser).
 */
let early: Promise<SessionContext> | undefined;

async function freshContext(): Promise<SessionContext> {
  const pending = early;
  early = undefined;
  context = await (pending ?? sessionContext());
  return context;
}
const getContext = async (): Promise<SessionContext> => context ?? freshContext();

const domainOf = (email: string): string => email.slice(email.lastIndexOf('@') + 1);
const isEmail = (text: string): boolean => /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(text);

function showEmail(prefill?: string): void {
  const email = field('email');
  if (prefill !== undefined) email.value = prefill;
  say(t('emailPrompt'));
  show('email');
}

function showPassword(email: string, note?: string): void {
  current = email;
  field('password').value = '';
  say(note ?? t('passwordFor', { email }));
  show('password');
}

function showNewPassword(purpose: typeof choosing, text: string, button: string): void {
  choosing = purpose;
  field('new-password').value = '';
  field('repeat-password').value = '';
  const submit = byId('new-password-submit');
  if (submit) submit.textContent = button;
  byId('new-shared')
    ?.closest('p')
    ?.toggleAttribute('hidden', purpose === 'addition');
  say(text);
  show('new-password');
}

/** Polls `op` for `current` until it says something other than pending, or the screen changes. */
async function waitFor(op: string, text: string): Promise<string> {
  say(text);
  show('wait');
  // Waiting may take minutes: "Use another address" stays usable (it changes the screen, ending this).
  setBusy(false);
  const mine = generation;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (generation !== mine) return 'abandoned';
    let answer: Record<string, unknown>;
    try {
      answer = await getJson(op, { email: current });
    } catch {
      continue; // a blip while waiting: ask again next time
    }
    if (generation !== mine) return 'abandoned';
    if (answer.status !== 'pending') {
      setBusy(true);
      return String(answer.status);
    }
  }
}

/** The last stage_* call, which the waiting screen's "Send the email again" repeats. */
let lastStage: { op: string; body: Record<string, unknown> } | undefined;

/** A stage_* call: its refusals become messages; true when the mail went out. */
async function stage(op: string, body: Record<string, unknown>): Promise<boolean> {
  lastStage = { op, body };
  try {
    const answer = await postJson(op, await getContext(), { ...body, ...branding, site: audience });
    if (answer.success === true) return true;
    const reason = typeof answer.reason === 'string' ? answer.reason : op;
    complain(reason === 'No such email address.' ? t('resetNoSuchEmail', { email: current }) : reason);
    return false;
  } catch (err) {
    if (err instanceof WsapiError && err.status === 429) {
      complain(t('mailThrottled', { email: current }));
      return false;
    }
    throw err;
  }
}

/** The address's key and certificate (kept ones while good), an assertion for the site, and done. */
async function certifyAndFinish(email: string): Promise<void> {
  say(t('signingIn'));
  const ctx = await getContext();
  let kept = ephemeral ? undefined : await storedKey(email);
  const expires = kept === undefined ? undefined : certificatePayload(kept.certificate)?.exp;
  if (typeof expires !== 'number' || expires < ctx.serverNow() + CERTIFICATE_MARGIN_MS) kept = undefined;
  if (kept === undefined) {
    const key = await generateUserKey();
    let certificate: string;
    try {
      certificate = (await postText('cert_key', ctx, { email, pubkey: key.publicKeyJson, ephemeral })).trim();
    } catch (err) {
      if (err instanceof WsapiError && err.status === 403) return reverify(email);
      if (err instanceof WsapiError && err.status === 401) {
        showPassword(email);
        return;
      }
      throw err;
    }
    kept = { email, privateKey: key.privateKey, certificate };
    if (!ephemeral) await keepKey(kept);
  }
  const assertion = await signAssertion(kept.privateKey, audience, ctx.serverNow() + ASSERTION_LIFETIME_MS);
  setSharedComputer(ephemeral);
  if (!ephemeral) rememberUse(audience, email);
  finish({ type: 'assertion', assertion: backedAssertion(kept.certificate, assertion) });
}

async function reverify(email: string): Promise<void> {
  current = email;
  if (!(await stage('stage_reverify', { email }))) return;
  const outcome = await waitFor('email_reverify_status', t('checkMailReverify', { email }));
  if (outcome === 'complete') await certifyAndFinish(email);
}

const primaryUi: DialogUi = {
  t,
  say,
  complain,
  show,
  frames,
};

async function signInThroughIdp(email: string, info: Record<string, unknown>): Promise<void> {
  const address: PrimaryAddress = {
    email,
    issuer: typeof info.issuer === 'string' ? info.issuer : domainOf(email),
    auth: typeof info.auth === 'string' ? info.auth : '',
    prov: typeof info.prov === 'string' ? info.prov : '',
  };
  await signInWithPrimary(address, {
    ui: primaryUi,
    audience,
    context: freshContext,
    ephemeral,
    finish: (backed) => {
      setSharedComputer(ephemeral);
      if (!ephemeral) rememberUse(audience, email);
      finish({ type: 'assertion', assertion: backed });
    },
    saveForReturn: (saved) => {
      try {
        sessionStorage.setItem(RETURN_KEY, JSON.stringify({ site: audience, email: saved, ephemeral }));
      } catch {
        // without sessionStorage the person starts again from the site after the IdP
      }
    },
  });
}

/** What address_info says decides the next screen. */
async function checkAddress(email: string): Promise<void> {
  current = email;
  const info = await getJson('address_info', { email });
  const known = typeof info.normalizedEmail === 'string' ? info.normalizedEmail : email;
  const ctx = await freshContext();
  if (info.type === 'primary') return signInThroughIdp(known, info);
  switch (info.state) {
    case 'known':
    case 'transition_to_secondary': {
      reverifyAfterSignIn = false;
      const mine = ctx.authLevel === 'password' && (await accountEmails()).includes(known.toLowerCase());
      if (mine) return certifyAndFinish(known);
      showPassword(
        known,
        info.state === 'known'
          ? undefined
          : t('transitionToSecondary', { domain: domainOf(known), email: known }),
      );
      return;
    }
    case 'unverified':
      reverifyAfterSignIn = true;
      {
        showPassword(known);
        return;
      }
    case 'transition_no_password':
      current = known;
      {
        showNewPassword(
          'transition',
          t('transitionNoPassword', { domain: domainOf(known), email: known }),
          t('setPassword'),
        );
        return;
      }
    case 'unknown':
      if (ctx.authenticated) {
        // Signed in already: a new address joins the account.
        if (!ctx.hasPassword) {
          showNewPassword('addition', t('addNeedsPassword', { email }), t('addEmail'));
          return;
        }
        say(t('addEmailFor', { email }));
        const confirm = byId('confirm-submit');
        if (confirm) confirm.textContent = t('addEmail');
        show('confirm');
        return;
      }
      {
        showNewPassword('account', t('newAccountFor', { email }), t('createAccount'));
        return;
      }
    case 'offline': {
      complain(t('offline', { domain: domainOf(email), email }));
      return;
    }
    default: {
      complain(t('notSupported', { email }));
      return;
    }
  }
}

async function accountEmails(): Promise<string[]> {
  const answer = await getJson('list_emails');
  return Array.isArray(answer.emails)
    ? answer.emails.filter((e): e is string => typeof e === 'string').map((e) => e.toLowerCase())
    : [];
}

async function signIn(): Promise<void> {
  const pass = field('password').value;
  if (pass === '') {
    complain(t('passwordMissing'));
    field('password').focus();
    return;
  }
  ephemeral = field('password-shared').checked;
  const answer = await postJson('authenticate_user', await getContext(), {
    email: current,
    pass,
    ephemeral,
  });
  if (answer.success !== true) {
    complain(answer.code === 'account locked' ? t('accountLocked') : t('passwordWrong'));
    field('password').select();
    return;
  }
  await freshContext();
  if (reverifyAfterSignIn) return reverify(current);
  await certifyAndFinish(current);
}

async function addAddress(pass?: string): Promise<void> {
  if (!(await stage('stage_email', pass === undefined ? { email: current } : { email: current, pass })))
    return;
  const outcome = await waitFor('email_addition_status', t('checkMailAdd', { email: current }));
  if (outcome === 'complete') await certifyAndFinish(current);
  else if (outcome === 'failed') showEmail(current);
}

async function choosePassword(): Promise<void> {
  const pass = field('new-password').value;
  const problem =
    pass.length < MIN_PASSWORD
      ? t('passwordTooShort')
      : pass.length > MAX_PASSWORD
        ? t('passwordTooLong')
        : pass !== field('repeat-password').value
          ? t('passwordsDiffer')
          : undefined;
  if (problem !== undefined) {
    complain(problem);
    field('new-password').focus();
    return;
  }
  if (choosing === 'addition') return addAddress(pass);
  ephemeral = field('new-shared').checked;
  const op = choosing === 'account' ? 'stage_user' : 'stage_transition';
  say(t('sendingMail'));
  if (!(await stage(op, { email: current, pass }))) return;
  const outcome = await waitFor(
    choosing === 'account' ? 'user_creation_status' : 'transition_status',
    t('checkMail', { email: current }),
  );
  if (outcome === 'complete') {
    await freshContext();
    await certifyAndFinish(current);
  } else if (outcome === 'mustAuth') {
    reverifyAfterSignIn = false;
    showPassword(current, t('confirmedElsewhere'));
  }
}

async function forgotPassword(): Promise<void> {
  say(t('sendingMail'));
  if (!(await stage('stage_reset', { email: current }))) return;
  const outcome = await waitFor('password_reset_status', t('checkMailReset', { email: current }));
  if (outcome === 'complete') {
    // The reset signed this browser in; "not my computer", if ticked beside the link, still holds.
    ephemeral = field('password-shared').checked;
    await freshContext();
    await certifyAndFinish(current);
  } else if (outcome === 'mustAuth') {
    reverifyAfterSignIn = false;
    showPassword(current, t('signInWithNewPassword'));
  }
}

/** Signed in already: the account's addresses, the one last used on this site chosen. */
async function showPick(): Promise<void> {
  const emails = await accountEmails();
  if (emails.length === 0) {
    showEmail(request?.email);
    return;
  }
  const list = byId('pick-list');
  const legend = byId('pick-legend');
  if (!list) {
    showEmail(request?.email);
    return;
  }
  if (legend) legend.textContent = t('pickHeading');
  const preferred = (request?.email ?? lastUsedOn(audience) ?? '').toLowerCase();
  list.replaceChildren(
    ...emails.map((email, index) => {
      const row = document.createElement('p');
      row.className = 'choice';
      const radio = document.createElement('input');
      radio.type = 'radio';
      radio.name = 'pick';
      radio.value = email;
      radio.id = `pick-${String(index)}`;
      radio.checked = email === preferred || (index === 0 && !emails.includes(preferred));
      const label = document.createElement('label');
      label.htmlFor = radio.id;
      label.textContent = email;
      row.append(radio, label);
      return row;
    }),
  );
  ephemeral = sharedComputer();
  say('');
  show('pick');
  list.querySelector<HTMLInputElement>('input:checked')?.focus();
}

async function pickAddress(): Promise<void> {
  const chosen = document.querySelector<HTMLInputElement>('#pick-list input:checked')?.value;
  if (chosen === undefined) return;
  current = chosen;
  const info = await getJson('address_info', { email: chosen });
  if (info.type === 'primary') return signInThroughIdp(chosen, info);
  if (info.state === 'unverified') {
    reverifyAfterSignIn = true;
    if ((await getContext()).authLevel !== 'password') {
      showPassword(chosen);
      return;
    }
    return reverify(chosen);
  }
  if ((await getContext()).authLevel !== 'password') {
    showPassword(chosen);
    return;
  }
  await certifyAndFinish(chosen);
}

async function signOutOfPersona(): Promise<void> {
  await postJson('logout', await getContext(), {});
  await forgetEverything();
  await freshContext();
  showEmail('');
}

const COLOR = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i;
/** The site's name, colour and logo, as the wsapi takes them; every stage_* call passes them on. */
let branding: { siteName?: string; backgroundColor?: string; siteLogo?: string } = {};
/** A name the wsapi takes (src/wsapi/args.ts); another is shown but not sent, so staging still works. */
const SITE_NAME = /^(?=.*\S)[^\p{Cc}\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]+$/u;

/** The site's logo, colour and terms, as it asked; anything malformed is left out, not an error. */
function showSite(options: RequestOptions): void {
  const name = byId('site-name');
  if (name) name.textContent = siteName;
  byId('site-eyebrow')?.removeAttribute('hidden');
  const host = byId('site-host');
  // The site names itself; its real address beside the name is what a person can trust.
  if (host) {
    host.textContent = new URL(audience).host;
    host.hidden = siteName === audience;
  }
  const logo = parseHttpUrl(options.siteLogo, true);
  const color =
    options.backgroundColor !== undefined && COLOR.test(options.backgroundColor)
      ? options.backgroundColor.replace(/^#?/, '#')
      : undefined;
  branding = {
    ...(options.siteName !== undefined && options.siteName.length <= 100 && SITE_NAME.test(options.siteName)
      ? { siteName: options.siteName }
      : {}),
    ...(color === undefined ? {} : { backgroundColor: color }),
    ...(logo === undefined ? {} : { siteLogo: logo.href }),
  };
  const image = byId('site-logo');
  if (logo !== undefined && image instanceof HTMLImageElement) {
    image.src = logo.href;
    image.alt = t('siteLogoAlt', { site: siteName });
    image.hidden = false;
  }
  const header = byId('site');
  if (color !== undefined && header) {
    const hex = color.length === 4 ? color.replace(/\w/g, (c) => c + c) : color;
    // WCAG relative luminance: black or white, whichever contrasts more (at least 4.58:1 either way).
    const [r = 0, g = 0, b = 0] = [1, 3, 5].map((i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    header.style.background = color;
    header.style.color = (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) ? '#000' : '#fff';
  }
  const terms = parseHttpUrl(options.termsOfService);
  const privacy = parseHttpUrl(options.privacyPolicy);
  const box = byId('terms');
  if (terms === undefined || privacy === undefined || !box) return;
  const link = (url: URL, text: string): HTMLAnchorElement => {
    const a = document.createElement('a');
    a.href = url.href;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = text;
    return a;
  };
  const links: Record<string, Node> = {
    terms: link(terms, t('termsLink')),
    privacy: link(privacy, t('privacyLink')),
    site: document.createTextNode(siteName),
  };
  // The sentence is one message; its {placeholders} become the links.
  box.replaceChildren(
    ...t('terms')
      .split(/(\{\w+\})/)
      .map((part) => links[part.slice(1, -1)] ?? document.createTextNode(part)),
  );
  box.hidden = false;
}

async function begin(options: RequestOptions): Promise<void> {
  siteName = options.siteName ?? audience;
  showSite(options);
  if (options.email !== undefined) field('email').value = options.email;
  say(t('waiting'));
  const ctx = await freshContext();
  if (returned !== undefined) {
    ephemeral = returned.ephemeral;
    if (returnKind === 'done') {
      // Back from the IdP's authentication page: provision again, now signed in there.
      current = returned.email;
      const info = await getJson('address_info', { email: returned.email });
      if (info.type === 'primary') return signInThroughIdp(returned.email, info);
      return checkAddress(returned.email);
    }
    showEmail(returned.email);
    complain(t('primaryCanceled', { domain: domainOf(returned.email) }));
    return;
  }
  if (ctx.authenticated) return showPick();
  showEmail();
}

function startScreens(options: RequestOptions): void {
  onSubmit('email', async () => {
    const email = field('email').value.trim();
    if (!isEmail(email)) {
      complain(t('emailInvalid'));
      field('email').focus();
      return;
    }
    await checkAddress(email);
  });
  onSubmit('password', signIn);
  onSubmit('new-password', choosePassword);
  onSubmit('confirm', () => addAddress());
  onSubmit('pick', pickAddress);
  byId('forgot')?.addEventListener('click', () => {
    act(forgotPassword);
  });
  byId('sign-out')?.addEventListener('click', () => {
    act(signOutOfPersona);
  });
  byId('retry')?.addEventListener('click', () => {
    const step = retryable;
    if (step !== undefined) act(step);
  });
  byId('resend')?.addEventListener('click', () => {
    const again = lastStage;
    if (again === undefined) return;
    // The screen keeps waiting (its poll goes on); only the mail goes out again, or the 60 s throttle says why not.
    complain('');
    void stage(again.op, again.body).then(
      (sent) => {
        if (sent) say(t('resent', { email: current }));
      },
      (err: unknown) => {
        complain(messageFor(err));
      },
    );
  });
  useAnother?.addEventListener('click', () => {
    complain('');
    showEmail('');
  });
  act(() => begin(options));
}

// ---- the channel ----

if (site === undefined || opener === null) {
  say(t('notOpenedBySite'));
} else {
  audience = site;
  early = sessionContext();
  // A failure shows when the first screen asks for it (and "Try again" asks afresh).
  early.catch(() => undefined);
  window.addEventListener('message', (event: MessageEvent) => {
    if (event.origin !== audience || event.source !== opener) return;
    const message = readMessage(event.data);
    if (message?.type !== 'request' || request !== undefined) return;
    request = message.options;
    startScreens(request);
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
