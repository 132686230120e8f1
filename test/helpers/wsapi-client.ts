/**
 * A browser talking to the wsapi, for tier tests: keeps the session cookie between calls, sends the CSRF
 * token with every POST, and signs each request as a tier would (the router forwarding it, or the webhead
 * calling an internal op). Without a webhead, `useSession` seals a session with the tiers' codec, as
 * `session_context` would have made it.
 */
import type { KeyObject } from 'node:crypto';
import { request } from 'undici';
import { answerOf, type Answer } from './browser.ts';
import { checkWsapiAnswer } from './contract.ts';
import { signTierRequest, type Tier } from '../../src/http/tier-auth.ts';
import type { Session, SessionCodec } from '../../src/wsapi/session.ts';

export interface Signer {
  readonly tier: Tier;
  readonly key: KeyObject;
  readonly callee: Tier;
}

export type WsapiAnswer = Answer;

export interface WsapiClientOptions {
  readonly base: string;
  readonly codec: SessionCodec;
  /** Signs every request; none sends unsigned ones. */
  readonly signer?: Signer;
  /** Plays the router: where an op goes and how that call is signed (default: `base` and `signer`). */
  readonly route?: (op: string) => { readonly base: string; readonly signer?: Signer };
  /** The end user's address, as the router passes it on. */
  readonly forwardedFor?: string;
  /** Other request headers the router forwards (e.g. Accept-Language), sent with every call. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface WsapiClient {
  get(op: string, query?: Record<string, string | number>): Promise<WsapiAnswer>;
  /** POSTs JSON with the session's CSRF token added (unless the body sets `csrf` itself). */
  post(op: string, body?: Record<string, unknown>): Promise<WsapiAnswer>;
  /** GET session_context, keeping its CSRF token for the POSTs that follow. */
  context(): Promise<Record<string, unknown>>;
  /** Replaces the cookie with a freshly sealed session (a CSRF token is added when missing). */
  useSession(session: Session, durationMs?: number, createdAt?: number): void;
  /** The session in the current cookie, as the tiers read it; null when none or invalid. */
  session(at?: number): Session | null;
  readonly csrf: string | undefined;
  cookie: string;
  /** Other cookies the tiers set (e.g. the device cookie), by name, sent back with every call. */
  readonly jar: Map<string, string>;
  /** Another browser on the same machine: same signer and address, no cookie. */
  another(): WsapiClient;
}

const FOUR_WEEKS = 28 * 86_400_000;

export function createWsapiClient(options: WsapiClientOptions): WsapiClient {
  let cookie = '';
  let csrf: string | undefined;
  const name = options.codec.name;
  const jar = new Map<string, string>();

  const send = async (method: 'GET' | 'POST', url: string, body?: string): Promise<WsapiAnswer> => {
    const headers: Record<string, string> = { ...options.headers };
    const cookies = [...(cookie ? [`${name}=${cookie}`] : []), ...[...jar].map(([k, v]) => `${k}=${v}`)];
    if (cookies.length > 0) headers.cookie = cookies.join('; ');
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (options.forwardedFor) headers['x-forwarded-for'] = options.forwardedFor;
    const op = url.slice('/wsapi/'.length).split('?', 1)[0] ?? '';
    const { base, signer } = options.route?.(op) ?? options;
    if (signer) {
      const { tier, key, callee } = signer;
      Object.assign(headers, signTierRequest(tier, key, callee, { method, url, body }));
    }
    const res = await request(`${base}${url}`, { method, headers, body });
    const set = res.headers['set-cookie'];
    for (const line of [set ?? []].flat()) {
      if (line.startsWith(`${name}=`)) cookie = line.slice(name.length + 1).split(';', 1)[0] ?? '';
      else {
        const [pair = ''] = line.split(';', 1);
        const eq = pair.indexOf('=');
        if (eq > 0) jar.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
    }
    const answer = await answerOf(res);
    checkWsapiAnswer(url, answer);
    return answer;
  };

  const client: WsapiClient = {
    get(op, query = {}) {
      const qs = new URLSearchParams(
        Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
      ).toString();
      return send('GET', `/wsapi/${op}${qs ? `?${qs}` : ''}`);
    },
    post(op, body = {}) {
      const withCsrf = 'csrf' in body || csrf === undefined ? body : { ...body, csrf };
      return send('POST', `/wsapi/${op}`, JSON.stringify(withCsrf));
    },
    async context() {
      const json = (await client.get('session_context')).json();
      csrf = json.csrf_token as string;
      return json;
    },
    useSession(session, durationMs = FOUR_WEEKS, createdAt = Date.now()) {
      const sealed = { csrf: `csrf-${Math.random().toString(36).slice(2)}`, ...session };
      csrf = sealed.csrf;
      cookie = options.codec.seal(sealed, createdAt, durationMs);
    },
    session(at = Date.now()) {
      return options.codec.open(cookie || undefined, at)?.session ?? null;
    },
    get csrf() {
      return csrf;
    },
    get cookie() {
      return cookie;
    },
    set cookie(value: string) {
      cookie = value;
    },
    jar,
    another: () => createWsapiClient(options),
  };
  return client;
}
