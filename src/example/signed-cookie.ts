/**
 * The example site's and the example primary's own sign-in cookie: `<b64url(email)>.<expires ms>.<HMAC>`,
 * HttpOnly and SameSite=Lax, signed with a secret made fresh per process (a restart signs everyone out,
 * which is fine for examples). Kept apart from Persona's session codec on purpose: these stand for
 * independent sites that share no code or secrets with the identity service.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { cookieValue } from '../http/cookies.ts';

export interface SignedCookie {
  readonly name: string;
  /** A Set-Cookie header value that signs `email` in until now + maxAgeMs. */
  issue(email: string, now?: number): string;
  /** The signed-in email from a Cookie header; null when absent, forged, malformed or expired. */
  read(cookieHeader: string | undefined, now?: number): string | null;
  /** A Set-Cookie header value that removes the cookie. */
  clear(): string;
}

export interface SignedCookieOptions {
  readonly name: string;
  /** Add `Secure` (an https origin). */
  readonly secure: boolean;
  readonly maxAgeMs: number;
  /** For tests; default 32 random bytes. */
  readonly secret?: Buffer;
}

export function createSignedCookie(options: SignedCookieOptions): SignedCookie {
  const secret = options.secret ?? randomBytes(32);
  const attributes = `Path=/; HttpOnly; SameSite=Lax${options.secure ? '; Secure' : ''}`;
  // The cookie name is signed too, so a value cannot be moved from one cookie to another.
  const mac = (body: string) =>
    createHmac('sha256', secret).update(`${options.name}|${body}`).digest('base64url');

  return {
    name: options.name,
    issue(email, now = Date.now()) {
      const body = `${Buffer.from(email, 'utf8').toString('base64url')}.${now + options.maxAgeMs}`;
      const maxAge = Math.floor(options.maxAgeMs / 1000);
      return `${options.name}=${body}.${mac(body)}; Max-Age=${maxAge}; ${attributes}`;
    },
    read(cookieHeader, now = Date.now()) {
      const value = cookieValue(cookieHeader, options.name);
      if (value === undefined || value.length > 1024) return null;
      const m = /^([A-Za-z0-9_-]+)\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(value);
      if (!m?.[1] || !m[2] || !m[3]) return null;
      const body = `${m[1]}.${m[2]}`;
      const expected = Buffer.from(mac(body));
      const given = Buffer.from(m[3]);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
      if (Number(m[2]) <= now) return null;
      const email = Buffer.from(m[1], 'base64url').toString('utf8');
      return email.length > 0 ? email : null;
    },
    clear() {
      return `${options.name}=; Max-Age=0; ${attributes}`;
    },
  };
}

/** Text safe inside HTML element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/**
 * A same-origin JSON POST, refusing cross-site requests: browsers cannot send application/json across
 * sites without a CORS preflight (which these apps never grant), and an Origin header, when sent, must be ours.
 * Returns the reason to refuse, or null.
 */
export function crossSiteRefusal(
  headers: Record<string, string | string[] | undefined>,
  ownOrigin: string,
): string | null {
  const type = String(headers['content-type'] ?? '')
    .split(';', 1)[0]
    ?.trim()
    .toLowerCase();
  if (type !== 'application/json') return 'expected a JSON body (Content-Type: application/json)';
  const origin = headers.origin;
  if (origin !== undefined && origin !== ownOrigin) return 'cross-origin request refused';
  return null;
}
