/**
 * The alias fallback (BigTent's PIN flow, persona#3498): when the provider proves another address than the
 * one typed, the typed address is proven by a one-time code mailed to it. The code itself is never kept:
 * the sealed cookie holds its HMAC. Tries are counted per address (5 per 10 minutes, as BigTent's
 * pin_code.js) in this process, and every check waits a second, so guessing six digits is hopeless.
 */
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';

export const CODE_TTL_MS = 10 * 60_000;
export const MAX_TRIES = 5;
export const TRIES_WINDOW_MS = 10 * 60_000;
/** One mail per address per minute: a code is not re-sent faster than mail arrives. */
export const RESEND_AFTER_MS = 60_000;
/** Codes mailed to one address per hour, however many provider sign-ins ask: nobody's inbox is a target. */
export const MAX_CODE_MAILS = 5;
export const CODE_MAILS_WINDOW_MS = 60 * 60_000;
/** Bound on the addresses tracked at once; the oldest windows go first. */
const MAX_TRACKED = 100_000;

export const newCode = (): string => String(randomInt(0, 1_000_000)).padStart(6, '0');

export function codeDigest(secret: string, email: string, code: string): string {
  return createHmac('sha256', secret)
    .update(`alias-code\n${email.toLowerCase()}\n${code}`)
    .digest('base64url');
}

export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Counts events per address in fixed windows. */
export class WindowCounter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private readonly limit: number;
  private readonly windowMs: number;
  constructor(limit: number, windowMs: number) {
    this.limit = limit;
    this.windowMs = windowMs;
  }

  /** Counts one event for `key`; false when the window already had `limit` of them. */
  take(key: string, now: number): boolean {
    const k = key.toLowerCase();
    let w = this.windows.get(k);
    if (w === undefined || now - w.start >= this.windowMs) {
      this.windows.delete(k);
      w = { start: now, count: 0 };
      this.windows.set(k, w);
      for (const oldest of this.windows.keys()) {
        if (this.windows.size <= MAX_TRACKED) break;
        this.windows.delete(oldest);
      }
    }
    if (w.count >= this.limit) return false;
    w.count += 1;
    return true;
  }
}
