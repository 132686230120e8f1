/**
 * What the data layer accepts. Writes refuse anything else with StorageError('invalid-input'); reads
 * answer "not found" without asking the database, since nothing invalid can have been stored by us.
 * Addresses follow the service's own syntax (ASCII only), so both engines compare them the same way.
 */
import { isEmail, isHostname } from '../browserid/names.ts';
import { refuse } from './errors.ts';
import { SECRET_PATTERN } from './secrets.ts';

/** The columns are VARCHAR(255); isEmail already stops at 254. */
export const isAddress = (value: unknown): value is string => isEmail(value) && value.length <= 255;

export const isDomain = (value: unknown): value is string => isHostname(value) && value.length <= 255;

export const isUserId = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value > 0;

export const isSecret = (value: unknown): value is string =>
  typeof value === 'string' && SECRET_PATTERN.test(value);

/** A session id: 16 random bytes in base64url (src/wsapi/session.ts). */
export const isSessionId = (value: unknown): value is string =>
  typeof value === 'string' && /^[A-Za-z0-9_-]{16,32}$/.test(value);

// bcrypt in modular crypt form ($2a$, $2b$, $2y$); refusing anything else keeps plain text out of passwd.
const BCRYPT = /^\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}$/;
export const isPasswordHash = (value: unknown): value is string =>
  typeof value === 'string' && BCRYPT.test(value);

export function address(value: unknown): string {
  return isAddress(value) ? value : refuse('invalid-input', 'not a valid email address');
}

export function domain(value: unknown): string {
  return isDomain(value) ? value : refuse('invalid-input', 'not a valid domain');
}

export function userId(value: unknown): number {
  return isUserId(value) ? value : refuse('invalid-input', 'not a valid user id');
}

export function passwordHash(value: unknown): string {
  return isPasswordHash(value) ? value : refuse('invalid-input', 'not a bcrypt hash');
}

export function optionalHash(value: unknown): string | null {
  return value === null ? null : passwordHash(value);
}
