/**
 * Following a mailed link (reference/persona.md §5.6–5.8): a sign-up, an added or re-verified address, a
 * password reset or a primary→secondary transition. Each needs either this browser to be the one that
 * staged it (the token is its pending one) or proof of the password chosen at staging or of the account's.
 * That stops an attacker from staging a victim's address and waiting for the victim to click. Unknown,
 * used and expired tokens are `unknown-token` (SPEC §4.2: 200 {success:false}, never 503).
 */
import { StorageError, type Writer } from '../db/write.ts';
import type { PasswordHasher } from '../passwords/index.ts';

export type Verification = 'creation' | 'confirmation' | 'reset' | 'transition';

/** Where a browser's session keeps the token it staged, by what the token is for. */
export type PendingField = 'pendingCreation' | 'pendingAddition' | 'pendingReset' | 'pendingReverification';

/** The browser following the link, as its session says. */
export type Follower = Readonly<Partial<Record<PendingField, string>>> & {
  readonly userid?: number;
  readonly authLevel?: 'assertion' | 'password';
};

export type CompletionResult =
  | { readonly kind: 'completed'; readonly userId: number; readonly lastPasswordReset: number }
  | { readonly kind: 'unknown-token' }
  /** A password must come with the link (the original's 401); `reason` is its text. */
  | { readonly kind: 'password-required'; readonly reason: string }
  | { readonly kind: 'password-mismatch' };

interface Rule {
  /** The session fields the token may sit in; it is forgotten there once used or found dead. */
  readonly pending: readonly PendingField[];
  /** The 401 text when a needed password is missing. */
  readonly missing: string;
  /** This browser may complete without a password. */
  trusts(follower: Follower, token: string, owner: number | null): boolean;
}

const samePending =
  (field: PendingField) =>
  (follower: Follower, token: string): boolean =>
    follower[field] === token;

const RULES: Readonly<Record<Verification, Rule>> = {
  creation: {
    pending: ['pendingCreation'],
    missing: 'Provide your password',
    trusts: samePending('pendingCreation'),
  },
  // The staging browser must also be signed in with the password as the account (persona.md §2.2).
  confirmation: {
    pending: ['pendingAddition', 'pendingReverification'],
    missing: 'password required',
    trusts: (follower, _token, owner) =>
      follower.userid !== undefined && follower.userid === owner && follower.authLevel === 'password',
  },
  reset: { pending: ['pendingReset'], missing: 'Provide your password', trusts: samePending('pendingReset') },
  transition: {
    pending: ['pendingReset'],
    missing: 'Provide your password',
    trusts: samePending('pendingReset'),
  },
};

/** The session fields a token of `verification` may sit in. */
export const pendingFieldsOf = (verification: Verification): readonly PendingField[] =>
  RULES[verification].pending;

export type VerificationStore = Pick<
  Writer,
  | 'authForVerificationSecret'
  | 'completeCreateUser'
  | 'completeConfirmEmail'
  | 'completePasswordReset'
  | 'lastPasswordReset'
>;

export interface Verifications {
  /** Completes the verification `token` is for, if `follower` may (with `pass` where needed). */
  complete(
    verification: Verification,
    request: { readonly token: string; readonly pass: string | undefined; readonly follower: Follower },
  ): Promise<CompletionResult>;
}

const UNKNOWN = { kind: 'unknown-token' } as const;

export function createVerifications(store: VerificationStore, hasher: PasswordHasher): Verifications {
  /** The account after the completion's write; `newHash`: the new password of a new-flow reset. */
  async function write(
    verification: Verification,
    token: string,
    newHash: string | undefined,
  ): Promise<{ userId: number; lastPasswordReset: number }> {
    switch (verification) {
      case 'creation':
        return store.completeCreateUser(token);
      case 'confirmation': {
        const { userId } = await store.completeConfirmEmail(token);
        return { userId, lastPasswordReset: (await store.lastPasswordReset(userId)) ?? 0 };
      }
      // A transition's hash was staged with it and becomes the account's password.
      case 'reset':
      case 'transition':
        return store.completePasswordReset(token, newHash);
    }
  }

  return {
    async complete(verification, { token, pass, follower }) {
      const auth = await store.authForVerificationSecret(token);
      if (auth === undefined) return UNKNOWN;
      const rule = RULES[verification];
      let newHash: string | undefined;
      if (verification === 'reset' && !auth.staged) {
        // New flow: the link proves the address; `pass` is the new password.
        if (pass === undefined) return { kind: 'password-required', reason: rule.missing };
        newHash = await hasher.hash(pass);
      } else if (!rule.trusts(follower, token, auth.userId)) {
        // Proof against the staged hash, else the account's.
        if (pass === undefined) return { kind: 'password-required', reason: rule.missing };
        if (auth.hash === null || !(await hasher.compare(pass, auth.hash)))
          return { kind: 'password-mismatch' };
      }
      try {
        const { userId, lastPasswordReset } = await write(verification, token, newHash);
        return { kind: 'completed', userId, lastPasswordReset };
      } catch (err) {
        // A racing completion claimed the token first.
        if (err instanceof StorageError && err.code === 'unknown-secret') return UNKNOWN;
        throw err;
      }
    },
  };
}
