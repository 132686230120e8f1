/**
 * What each activity does over HTTP, as a real browser and site do it (reference/persona.md §7.2, without
 * the fake-verification shortcut): the wsapi with cookies and CSRF, `cert_key` on a real user key, an
 * assertion checked at `/verify`, and every verification link read from the mail and followed.
 */
import { bundle, createAssertion, generateKeypair, type Keypair } from '../browserid/index.ts';
import { Device, HttpError } from './client.ts';
import type { MailSink } from './mail.ts';
import { CERT_RENEWAL_SHARE, type ActivityKind } from './model.ts';

export interface DeviceState {
  readonly device: Device;
  /** The device's certificate and when it expires (ms). */
  cert?: { readonly email: string; readonly text: string; readonly expiresAt: number; readonly key: Keypair };
}

export interface SimUser {
  readonly emails: string[];
  password: string;
  readonly devices: readonly DeviceState[];
  /** The sites this user signs in to. */
  readonly sites: readonly string[];
  busy: boolean;
}

export interface ActivityContext {
  readonly base: string;
  readonly mail: MailSink;
  readonly mailDomain: string;
  /** A few user keys, reused as the original did: the client stays cheap, the servers do full work. */
  readonly keys: readonly Keypair[];
  readonly random: () => number;
  /** A new device (browser) for a user, bound to one of the client addresses. */
  newDevice(): Device;
  /** Counts a password hash or compare the servers were asked to do. */
  bcrypt(n?: number): void;
  /** Counts a verification link followed. */
  linkFollowed(): void;
  /** A user made by a sign-up joins the pool. */
  adopt(user: SimUser): void;
  readonly mailTimeoutMs: number;
}

const pick = <T>(items: readonly T[], random: () => number): T =>
  items[Math.floor(random() * items.length)] ?? (items[0] as T);

const randomName = (random: () => number, length = 16): string =>
  Array.from({ length }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(random() * 36)]).join('');

export const newPassword = (random: () => number): string => `lg-${randomName(random, 12)}`;
export const newEmail = (ctx: Pick<ActivityContext, 'random' | 'mailDomain'>): string =>
  `${randomName(ctx.random)}@${ctx.mailDomain}`;

export function newUser(ctx: ActivityContext, email: string, password: string): SimUser {
  const sites = Array.from({ length: 4 }, () => `https://${randomName(ctx.random, 8)}.loadtest.example`);
  return {
    emails: [email],
    password,
    devices: [{ device: ctx.newDevice() }, { device: ctx.newDevice() }],
    sites,
    busy: false,
  };
}

/** The payload's `exp` of a certificate (a JWS). */
const expiryOf = (cert: string): number => {
  const payload = JSON.parse(Buffer.from(cert.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
    exp?: number;
  };
  return payload.exp ?? 0;
};

/** The device has a session (session_context says so), else signs in with the password. */
async function ensureSignedIn(ctx: ActivityContext, user: SimUser, d: DeviceState): Promise<void> {
  const context = await d.device.context();
  if (context.authenticated === true) return;
  await authenticate(ctx, user, d);
}

/** Signs a device in with the password (bcrypt on the deployment). */
export const signInDevice = (ctx: ActivityContext, user: SimUser, d: DeviceState): Promise<void> =>
  authenticate(ctx, user, d);

async function authenticate(ctx: ActivityContext, user: SimUser, d: DeviceState): Promise<void> {
  ctx.bcrypt();
  await d.device.succeed('authenticate_user', {
    email: user.emails[0],
    pass: user.password,
    ephemeral: false,
  });
  d.cert = undefined;
}

/** cert_key when the device holds no live certificate for `email` (the dialog keeps one a day). */
async function certify(
  ctx: ActivityContext,
  d: DeviceState,
  email: string,
): Promise<{ text: string; key: Keypair }> {
  if (d.cert && d.cert.email === email && d.cert.expiresAt > Date.now() + 60_000) return d.cert;
  const key = pick(ctx.keys, ctx.random);
  const answer = await d.device.post('cert_key', {
    email,
    pubkey: JSON.stringify(key.publicKey.json),
    ephemeral: false,
  });
  d.cert = { email, text: answer.text, expiresAt: expiryOf(answer.text), key };
  return d.cert;
}

/** The site's part: an assertion for the site, checked at the deployment's /verify. */
async function signInToSite(
  ctx: ActivityContext,
  user: SimUser,
  d: DeviceState,
  email: string,
): Promise<void> {
  const cert = await certify(ctx, d, email);
  const listed = (await d.device.get('/wsapi/list_emails')).json();
  if (!Array.isArray(listed.emails) || !listed.emails.includes(email))
    throw new Error(`list_emails lacks ${email}: ${JSON.stringify(listed)}`);
  const audience = pick(user.sites, ctx.random);
  const assertion = createAssertion({ audience, expiresAt: Date.now() + 120_000 }, cert.key.secretKey);
  const answer = await d.device.send(
    'POST',
    '/verify',
    new URLSearchParams({ assertion: bundle([cert.text], assertion), audience }).toString(),
    'application/x-www-form-urlencoded',
  );
  if (answer.status !== 200) throw new HttpError('POST /verify', answer.status, answer.text);
  const verdict = answer.json();
  if (verdict.status !== 'okay' || verdict.email !== email)
    throw new Error(`/verify said ${answer.text.slice(0, 200)}`);
}

/** Reads the mail to `email`, opens its link in the browser, and returns the token for the completion. */
async function followLink(ctx: ActivityContext, d: DeviceState, email: string): Promise<string> {
  const link = await ctx.mail.linkFor(email, ctx.mailTimeoutMs);
  const url = new URL(link.url);
  await d.device.get(`${url.pathname}${url.search}`);
  ctx.linkFollowed();
  return link.token;
}

export async function signUp(ctx: ActivityContext, email: string, password: string): Promise<SimUser> {
  const user = newUser(ctx, email, password);
  const d = user.devices[0] as DeviceState;
  ctx.bcrypt();
  await d.device.succeed('stage_user', { email, pass: password, site: user.sites[0] });
  const token = await followLink(ctx, d, email);
  await d.device.succeed('complete_user_creation', { token });
  return user;
}

export type Activity = (ctx: ActivityContext, user: SimUser) => Promise<void>;

export const ACTIVITIES: Readonly<Record<ActivityKind, Activity>> = {
  async include_only(ctx, user) {
    const d = pick(user.devices, ctx.random);
    await d.device.get('/include.js');
    await d.device.context();
  },
  async signin(ctx, user) {
    const d = pick(user.devices, ctx.random);
    if (ctx.random() < CERT_RENEWAL_SHARE) d.cert = undefined;
    await ensureSignedIn(ctx, user, d);
    await signInToSite(ctx, user, d, user.emails[0] as string);
  },
  async reauth(ctx, user) {
    const d = pick(user.devices, ctx.random);
    d.device.clear();
    d.cert = undefined;
    await d.device.context();
    await authenticate(ctx, user, d);
    await signInToSite(ctx, user, d, user.emails[0] as string);
  },
  async signup(ctx) {
    const user = await signUp(ctx, newEmail(ctx), newPassword(ctx.random));
    const d = user.devices[0] as DeviceState;
    await signInToSite(ctx, user, d, user.emails[0] as string);
    ctx.adopt(user);
  },
  async reset_pass(ctx, user) {
    // Forgot the password: on a browser without a session, from the sign-in page.
    const d = pick(user.devices, ctx.random);
    const email = user.emails[0] as string;
    d.device.clear();
    d.cert = undefined;
    await d.device.succeed('stage_reset', { email, site: pick(user.sites, ctx.random) });
    const token = await followLink(ctx, d, email);
    const password = newPassword(ctx.random);
    ctx.bcrypt();
    await d.device.succeed('complete_reset', { token, pass: password });
    user.password = password;
    await signInToSite(ctx, user, d, email);
  },
  async add_email(ctx, user) {
    const d = pick(user.devices, ctx.random);
    await ensureSignedIn(ctx, user, d);
    const email = newEmail(ctx);
    await d.device.succeed('stage_email', { email, site: pick(user.sites, ctx.random) });
    const token = await followLink(ctx, d, email);
    await d.device.succeed('complete_email_confirmation', { token });
    const status = (
      await d.device.get(`/wsapi/email_addition_status?email=${encodeURIComponent(email)}`)
    ).json();
    if (status.status !== 'complete') throw new Error(`email_addition_status: ${JSON.stringify(status)}`);
    user.emails.push(email);
    await signInToSite(ctx, user, d, email);
  },
  async change_pass(ctx, user) {
    const d = pick(user.devices, ctx.random);
    await ensureSignedIn(ctx, user, d);
    const password = newPassword(ctx.random);
    ctx.bcrypt(2);
    await d.device.succeed('update_password', { oldpass: user.password, newpass: password });
    user.password = password;
  },
};

/** Ends an account made by the run (account_cancel on a signed-in device). */
export async function cancelAccount(ctx: ActivityContext, user: SimUser): Promise<void> {
  const d = user.devices[0] as DeviceState;
  await ensureSignedIn(ctx, user, d);
  await d.device.succeed('account_cancel', {});
}

export const makeKeys = (n: number): Keypair[] => Array.from({ length: n }, () => generateKeypair('DS128'));
