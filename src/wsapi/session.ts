/**
 * The session cookie (reference/persona.md §5.1, SPEC §4.10): stateless, encrypted and authenticated,
 * scoped to `/wsapi`. Value: `b64url(iv).b64url(ciphertext).createdAt.duration.b64url(tag)`, AES-256-GCM
 * with the cookie name, createdAt and duration as associated data, so none of them can be altered.
 * The fourth field is the duration in ms, as the original's (tests of that era read it).
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

export type AuthLevel = 'assertion' | 'password';

export interface Session {
  csrf?: string;
  /**
   * The signed-in session's id (SPEC §4.12): logout revokes it server-side, so copies of the cookie die
   * too. Cookies sealed before ids existed have none; they get one at their next use.
   */
  sid?: string;
  userid?: number;
  authLevel?: AuthLevel;
  /** The user's lastPasswordReset (unix seconds) when this session authenticated; a change logs it out. */
  lastPasswordReset?: number;
  pendingCreation?: string;
  pendingAddition?: string;
  pendingReset?: string;
  pendingReverification?: string;
}

export interface SessionCookieOptions {
  readonly secret: string;
  readonly publicUrl: string;
}

export const RENEW_WITHIN_MS = 5 * 60_000;
const MAX_COOKIE_LENGTH = 4096;

/** A new session id: 16 random bytes, base64url. */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * How long a revocation must be kept: past the cookie's expiry, with room for renewals (each pushes
 * createdAt RENEW_WITHIN_MS forward) made by requests already in flight when it was revoked.
 */
export const REVOCATION_MARGIN_MS = 2 * RENEW_WITHIN_MS;

/** `browserid_state` on the original's host, else suffixed by a hash of the public URL, as the original. */
export function sessionCookieName(publicUrl: string): string {
  if (publicUrl === 'https://login.persona.org') return 'browserid_state';
  return `browserid_state_${createHash('md5').update(publicUrl).digest('hex').slice(0, 6)}`;
}

export interface OpenedSession {
  readonly session: Session;
  readonly createdAt: number;
  readonly duration: number;
}

export interface SessionCodec {
  readonly name: string;
  seal(session: Session, createdAt: number, duration: number): string;
  /** The session in a cookie value, or null when it is absent, forged, garbled or expired. */
  open(value: string | undefined, now: number): OpenedSession | null;
}

export function createSessionCodec({ secret, publicUrl }: SessionCookieOptions): SessionCodec {
  if (secret.length < 32) throw new Error('the cookie secret must be at least 32 characters');
  const name = sessionCookieName(publicUrl);
  const key = Buffer.from(hkdfSync('sha256', secret, 'persona', 'session-cookie-v1', 32));
  const aad = (createdAt: number, duration: number) => Buffer.from(`${name}.${createdAt}.${duration}`);

  return {
    name,
    seal(session, createdAt, duration) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(aad(createdAt, duration));
      const ciphertext = Buffer.concat([cipher.update(JSON.stringify(session), 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [
        iv.toString('base64url'),
        ciphertext.toString('base64url'),
        createdAt,
        duration,
        tag.toString('base64url'),
      ].join('.');
    },
    open(value, now) {
      if (!value || value.length > MAX_COOKIE_LENGTH) return null;
      const parts = value.split('.');
      if (parts.length !== 5) return null;
      const [ivText = '', ciphertextText = '', createdText = '', durationText = '', tagText = ''] = parts;
      if (!/^\d{1,15}$/.test(createdText) || !/^\d{1,15}$/.test(durationText)) return null;
      const createdAt = Number(createdText);
      const duration = Number(durationText);
      if (createdAt + duration < now) return null;
      const iv = Buffer.from(ivText, 'base64url');
      const tag = Buffer.from(tagText, 'base64url');
      if (iv.length !== 12 || tag.length !== 16) return null;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv);
        decipher.setAAD(aad(createdAt, duration));
        decipher.setAuthTag(tag);
        const plain = Buffer.concat([
          decipher.update(Buffer.from(ciphertextText, 'base64url')),
          decipher.final(),
        ]);
        const session = JSON.parse(plain.toString('utf8')) as unknown;
        if (typeof session !== 'object' || session === null || Array.isArray(session)) return null;
        return { session: session, createdAt, duration };
      } catch {
        return null;
      }
    },
  };
}

export interface CookieAttributes {
  readonly https: boolean;
}

/** The Set-Cookie value: HttpOnly, Path=/wsapi, Secure on https, SameSite=Lax (first-party only). */
export function sessionCookieHeader(
  name: string,
  value: string,
  expiresAt: number,
  { https }: CookieAttributes,
): string {
  const attributes = [
    `${name}=${value}`,
    'Path=/wsapi',
    `Expires=${new Date(expiresAt + 1000).toUTCString()}`,
    'HttpOnly',
    'SameSite=Lax',
  ];
  if (https) attributes.push('Secure');
  return attributes.join('; ');
}

/** The cookie secret: 128 random alphanumerics, as the original's browserid_cookie.sekret. */
export function generateCookieSecret(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  while (out.length < 128) {
    for (const byte of randomBytes(64)) {
      // 248 = 4 × 62: rejecting higher bytes keeps every character equally likely.
      if (byte < 248 && out.length < 128) out += alphabet.charAt(byte % 62);
    }
  }
  return out;
}
