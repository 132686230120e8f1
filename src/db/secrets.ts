/** The tokens mailed in verification links (reference/persona.md §5.6): 48 characters of [A-Za-z0-9]. */
import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
// 248 = 4 × 62: bytes at or above it are dropped, so every character is equally likely (the original's
// plain `byte % 62` favoured the first 8 characters by a quarter).
const UNBIASED_LIMIT = 256 - (256 % ALPHABET.length);

export const SECRET_LENGTH = 48;
export const SECRET_PATTERN = /^[A-Za-z0-9]{48}$/;

export function generateSecret(length = SECRET_LENGTH): string {
  let out = '';
  while (out.length < length) {
    // ~3 % of bytes are dropped; ask for a little more than needed so one draw nearly always suffices.
    for (const byte of randomBytes(Math.ceil((length - out.length) * 1.1) + 4)) {
      if (byte < UNBIASED_LIMIT) out += ALPHABET[byte % ALPHABET.length] ?? '';
      if (out.length === length) break;
    }
  }
  return out;
}
