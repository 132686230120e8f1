/**
 * The bridge's state, held by the browser (BigTent's "we have no backend database"): JSON sealed with
 * AES-256-GCM under a key derived from the bridge's cookie secret, with its expiry inside the seal and the
 * cookie's name as associated data, so one cookie cannot be replayed as another.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export interface SealedCookie<T> {
  readonly name: string;
  /** The Set-Cookie header carrying `value` for `ttlMs`. */
  issue(value: T, now: number): string;
  /** The value, or null when absent, tampered with, sealed under another secret or expired. */
  read(cookieHeader: string | undefined, now: number): T | null;
  /** The Set-Cookie header that deletes it. */
  clear(): string;
}

export interface SealedCookieOptions {
  readonly name: string;
  readonly secret: string;
  readonly ttlMs: number;
  readonly secure: boolean;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function createSealedCookie<T>(options: SealedCookieOptions): SealedCookie<T> {
  const key = Buffer.from(hkdfSync('sha256', options.secret, 'persona-bridge', `cookie:${options.name}`, 32));
  const aad = Buffer.from(options.name);
  // SameSite=Lax: sent on the provider's redirect back (a top-level GET) and in the dialog's provisioning
  // frame (same site as Persona), never on another site's POST.
  const attributes = `Path=/; HttpOnly; SameSite=Lax${options.secure ? '; Secure' : ''}`;
  return {
    name: options.name,
    issue(value, now) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(aad);
      const plain = Buffer.from(JSON.stringify({ v: value, exp: now + options.ttlMs }));
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return `${options.name}=${sealed.toString('base64url')}; ${attributes}; Max-Age=${Math.ceil(options.ttlMs / 1000)}`;
    },
    read(header, now) {
      const text = cookieValue(header, options.name);
      if (text === undefined || text.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(text)) return null;
      const sealed = Buffer.from(text, 'base64url');
      if (sealed.length < 12 + 16 + 2) return null;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
        decipher.setAAD(aad);
        decipher.setAuthTag(sealed.subarray(sealed.length - 16));
        const plain = Buffer.concat([
          decipher.update(sealed.subarray(12, sealed.length - 16)),
          decipher.final(),
        ]);
        const opened = JSON.parse(plain.toString('utf8')) as { v: T; exp: number };
        return typeof opened.exp === 'number' && opened.exp > now ? opened.v : null;
      } catch {
        return null;
      }
    },
    clear: () => `${options.name}=; ${attributes}; Max-Age=0`,
  };
}
