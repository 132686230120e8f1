/**
 * An account's password after sign-up (reference/persona.md §2.2): changed by its signed-in owner
 * (`update_password`), or rehashed at another bcrypt cost after a sign-in (ours, persona #204).
 */
import type { Writer } from '../db/write.ts';
import type { PasswordHasher } from '../passwords/index.ts';

export type PasswordChange =
  | {
      readonly kind: 'changed';
      /** Moved when the password really changed: every other session ends. Undefined for a rehash. */
      readonly lastPasswordReset: number | undefined;
    }
  | { readonly kind: 'refused'; readonly reason: 'no password set for user' | 'incorrect password' };

export type Rehash =
  | { readonly kind: 'rehashed' | 'current' }
  | { readonly kind: 'refused'; readonly reason: 'no password set for user' | 'password mismatch' };

export interface Passwords {
  change(userId: number, oldpass: string, newpass: string): Promise<PasswordChange>;
  /** Rehashes at the configured cost, if the stored hash needs it and `pass` still matches it. */
  rehash(userId: number, pass: string): Promise<Rehash>;
}

export type PasswordStore = Pick<Writer, 'checkAuth' | 'updatePassword'>;

export function createPasswords(store: PasswordStore, hasher: PasswordHasher): Passwords {
  return {
    async change(userId, oldpass, newpass) {
      const auth = await store.checkAuth(userId);
      if (!auth?.hash) return { kind: 'refused', reason: 'no password set for user' };
      if (!(await hasher.compare(oldpass, auth.hash)))
        return { kind: 'refused', reason: 'incorrect password' };
      // The same password again is a rehash: other sessions may live on.
      const lastPasswordReset = await store.updatePassword(
        userId,
        await hasher.hash(newpass),
        oldpass !== newpass,
      );
      return { kind: 'changed', lastPasswordReset };
    },

    async rehash(userId, pass) {
      // Checked again against the hash stored now: had it changed since the webhead's check, a rehash of
      // the old password would undo the change.
      const auth = await store.checkAuth(userId);
      if (!auth?.hash) return { kind: 'refused', reason: 'no password set for user' };
      if (!hasher.needsRehash(auth.hash)) return { kind: 'current' };
      if (!(await hasher.compare(pass, auth.hash))) return { kind: 'refused', reason: 'password mismatch' };
      await store.updatePassword(userId, await hasher.hash(pass), false);
      return { kind: 'rehashed' };
    },
  };
}
