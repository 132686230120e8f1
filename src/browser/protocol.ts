/**
 * The postMessage protocol between include.js (on the relying party's page), the communication iframe
 * (/communication_iframe, framed by that page) and the dialog popup (/sign_in, opened by that page).
 * One module for every side, so the message shapes cannot drift apart. docs/browser.md describes it.
 *
 * Every message is `{ protocol: PROTOCOL, type, …fields }`. Receivers check, in this order: the sender's
 * origin (event.origin, which the browser vouches for), the sender's window (event.source), then the shape
 * with readMessage; anything else is dropped without a word.
 */

export const PROTOCOL = 'persona/1';

export const IFRAME_PATH = '/communication_iframe';
export const DIALOG_PATH = '/sign_in';
/** The popup's window name: a second request() reuses the same window. */
export const DIALOG_WINDOW_NAME = '__persona_dialog';
/**
 * The popup's inner size: every screen's primary button shows without scrolling (test/browser/fit.test.ts),
 * and it fits a 1366×768 laptop with the browser's own bars. The original's 700×375 cut "Create account" off.
 */
export const DIALOG_SIZE = { width: 480, height: 640 } as const;
export const DIALOG_FEATURES = `popup,width=${String(DIALOG_SIZE.width)},height=${String(DIALOG_SIZE.height)}`;

/** What a site may pass to request(); strings only, so the object survives postMessage's cloning. */
export interface RequestOptions {
  siteName?: string;
  siteLogo?: string;
  backgroundColor?: string;
  termsOfService?: string;
  privacyPolicy?: string;
  returnTo?: string;
  email?: string;
}
export const REQUEST_OPTION_NAMES = [
  'siteName',
  'siteLogo',
  'backgroundColor',
  'termsOfService',
  'privacyPolicy',
  'returnTo',
  'email',
] as const satisfies readonly (keyof RequestOptions)[];

/** include.js → communication iframe. */
export type ToIframe = { type: 'loaded'; loggedInUser: string | null } | { type: 'logout' };
/** communication iframe → include.js. `hello`: listening, send `loaded`. */
export type FromIframe = { type: 'hello' } | { type: 'ready' } | { type: 'logout' };
/** include.js → dialog. */
export type ToDialog = { type: 'request'; options: RequestOptions };
/** dialog → include.js. `hello`: listening, send `request`. */
export type FromDialog = { type: 'hello' } | { type: 'assertion'; assertion: string } | { type: 'cancel' };

export type Message = ToIframe | FromIframe | ToDialog | FromDialog;
export type Envelope<M extends Message> = M & { protocol: typeof PROTOCOL };

export function envelope<M extends Message>(message: M): Envelope<M> {
  return { ...message, protocol: PROTOCOL };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Keeps only the known string options (drops functions such as oncancel, which cannot be posted). */
export function pickRequestOptions(source: Record<string, unknown>): RequestOptions {
  const options: RequestOptions = {};
  for (const name of REQUEST_OPTION_NAMES) {
    const value = source[name];
    if (typeof value === 'string') options[name] = value;
  }
  return options;
}

/** The message in `data` when it is one of ours and well formed, else undefined. */
export function readMessage(data: unknown): Message | undefined {
  if (!isRecord(data) || data.protocol !== PROTOCOL) return undefined;
  switch (data.type) {
    case 'hello':
    case 'ready':
    case 'logout':
    case 'cancel':
      return { type: data.type };
    case 'loaded': {
      const user = data.loggedInUser;
      return typeof user === 'string' || user === null ? { type: 'loaded', loggedInUser: user } : undefined;
    }
    case 'request':
      return isRecord(data.options)
        ? { type: 'request', options: pickRequestOptions(data.options) }
        : undefined;
    case 'assertion':
      return typeof data.assertion === 'string' && data.assertion.length > 0
        ? { type: 'assertion', assertion: data.assertion }
        : undefined;
    default:
      return undefined;
  }
}

/** A serialised http(s) origin exactly as the browser writes event.origin, or undefined. */
export function parseOrigin(text: string | null | undefined): string | undefined {
  const url = parseHttpUrl(text);
  return url?.origin === text ? text : undefined;
}

/** An absolute http(s) URL (https only when asked), or undefined for anything else. */
export function parseHttpUrl(text: string | null | undefined, httpsOnly = false): URL | undefined {
  if (typeof text !== 'string' || text === '') return undefined;
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || (!httpsOnly && url.protocol === 'http:') ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The page's origin as include.js writes it into the iframe and dialog URLs (`#origin=…`). It is a claim,
 * used only as the targetOrigin of our first message: if the claim is false the browser drops the message,
 * and every reply must come from that same origin, so a lie gains nothing.
 */
export function originFromFragment(hash: string): string | undefined {
  return parseOrigin(new URLSearchParams(hash.replace(/^#/, '')).get('origin'));
}

export function fragmentFor(origin: string): string {
  return `#${new URLSearchParams({ origin }).toString()}`;
}
