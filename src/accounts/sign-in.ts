/**
 * Signing in with a password (reference/persona.md §5.4): what the account and the password say, read
 * only (the webhead's privilege). The caller writes what follows through the dbwriter: a failure counted,
 * failures cleared, a rehash (SPEC §4.7: a clean sign-in writes nothing).
 */
import type { Reader } from '../db/read.ts';
import type { PasswordHasher } from '../passwords/index.ts';

export type PasswordSignIn =
  | {
      readonly kind: 'signed-in';
      readonly userId: number;
      readonly lastPasswordReset: number;
      /** There were failed attempts to clear. */
      readonly clearFailures: boolean;
      /** The stored hash has another cost: rehash while the password is at hand (persona #204). */
      readonly rehash: boolean;
    }
  | {
      readonly kind: 'refused';
      readonly outcome: 'unknown' | 'no_password' | 'locked' | 'mismatch';
      readonly reason: string;
      /** The original's `code` (only for a locked account). */
      readonly code?: string;
      /** The account, when there is one: a mismatch counts against it. */
      readonly userId?: number;
    };

export type SignInStore = Pick<Reader, 'emailToUID' | 'checkAuth' | 'lastPasswordReset'>;

export interface SignIn {
  withPassword(email: string, pass: string): Promise<PasswordSignIn>;
}

export function createSignIn(
  store: SignInStore,
  hasher: PasswordHasher,
  options: { readonly maxAuthAttempts: number },
): SignIn {
  const unknown = { kind: 'refused', outcome: 'unknown', reason: 'no such user' } as const;
  return {
    async withPassword(email, pass) {
      const userId = await store.emailToUID(email);
      if (userId === undefined) return unknown;
      const auth = await store.checkAuth(userId);
      if (auth === undefined) return unknown;
      if (auth.hash === null)
        return { kind: 'refused', outcome: 'no_password', reason: 'no password set for user', userId };
      // Locked until a password reset, whatever the password; no bcrypt spent.
      if (auth.failedAuthTries >= options.maxAuthAttempts)
        return { kind: 'refused', outcome: 'locked', reason: 'account is locked', code: 'account locked', userId };
      if (!(await hasher.compare(pass, auth.hash)))
        return { kind: 'refused', outcome: 'mismatch', reason: `password mismatch for user: ${email}`, userId };
      const lastPasswordReset = await store.lastPasswordReset(userId);
      if (lastPasswordReset === undefined) return unknown;
      return {
        kind: 'signed-in',
        userId,
        lastPasswordReset,
        clearFailures: auth.failedAuthTries > 0,
        rehash: hasher.needsRehash(auth.hash),
      };
    },
  };
}
