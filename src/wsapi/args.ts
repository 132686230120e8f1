/**
 * The wsapi's parameter types (reference/persona.md §2.1, the table) as zod schemas. Each failure carries
 * the original's message, answered as `<name>: <message>`.
 */
import { z } from 'zod';
import { isEmail, isHostname } from '../browserid/index.ts';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../passwords/index.ts';

/** A string that passes `check`; any other value fails with `why`. */
const text = (why: string, check: (value: string) => boolean) =>
  z.string({ error: why }).refine(check, { error: why });

const parsesAsJson = (value: string): boolean => {
  try {
    JSON.parse(value);
    return true;
  } catch {
    return false;
  }
};

const isHttpsUrl = (value: string): boolean => {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
};

const ORIGIN = /^(https?|app):\/\/([a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})*)(:\d{1,5})?$/i;
const PASSWORD = `must be a string of ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`;
const INTEGER = 'must be an integer';

export const email = text('not a valid email address', isEmail);
export const emailType = z.enum(['primary', 'secondary'], { error: 'must be primary or secondary' });
/** A positive integer; GET query strings carry text, so digits become a number. */
export const userid = z.preprocess(
  (value) => (typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value),
  z.number({ error: INTEGER }).refine((n) => Number.isSafeInteger(n) && n > 0, { error: INTEGER }),
);
export const password = text(
  PASSWORD,
  (v) => v.length >= MIN_PASSWORD_LENGTH && v.length <= MAX_PASSWORD_LENGTH,
);
export const boolean = z.boolean({ error: 'must be a boolean value' });
export const token = text('not a valid token', (v) => /^[A-Za-z0-9]{48}$/.test(v));
export const assertion = text(
  'not a valid assertion',
  (v) => v.length >= 50 && v.length <= 10240 && /^[0-9A-Za-z~_.=-]+$/.test(v),
);
export const pubkey = text(
  'not a valid public key',
  (v) => v.length >= 50 && v.length <= 10240 && parsesAsJson(v),
);
export const hostname = text('not a valid hostname', isHostname);
export const origin = text('not a valid origin', (v) => v.length <= 300 && ORIGIN.test(v));
export const color = text('not a valid color', (v) => /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.test(v));
/**
 * The name a site gives itself (ours: `siteName`, shown in the verification mail's subject): 1 to 100
 * characters, something other than spaces, no control characters, line or paragraph separators, or bidi
 * overrides (which would let a name disguise itself in a subject line).
 */
export const siteName = text(
  'must be 1 to 100 characters without control characters',
  (v) =>
    v.length <= 100 &&
    v.trim() !== '' &&
    !/[\p{Cc}\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/u.test(v),
);
export const image = text('must be an https URL', (v) => v.length <= 2048 && isHttpsUrl(v));
/** A rate-limit bucket name (ours, SPEC §4.4). */
export const bucket = text('not a valid bucket', (v) => /^[\x21-\x7e]{1,200}$/.test(v));
