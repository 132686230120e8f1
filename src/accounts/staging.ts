/**
 * Staging what a mailed link completes (reference/persona.md §2.2, §5.6): a sign-up, an added address, a
 * password reset, a re-verification and a primary→secondary transition. Each passes the per-IP limit
 * (SPEC §4.4) and, but for re-verification, the original's per-address mail throttle before any bcrypt
 * work, then stages, queueing the mail that carries the token in the same transaction (SPEC §4.13), and
 * says which mail it is and where this browser keeps the token.
 *
 * Every staging passes a hash or null, never "keep": a row left by someone else's staging of the same
 * address must not carry their password into this account.
 */
import type { OutboxEntry, RateLimit, Writer } from '../db/write.ts';
import type { MailKind } from '../mail/templates.ts';
import type { PasswordHasher } from '../passwords/index.ts';
import type { PendingField } from './verification.ts';

/** Which limit refused: the per-IP one (SPEC §4.4) or the per-address mail throttle (the original's). */
export type StagingLimit = 'stage:ip' | 'email';

export type StagingResult =
  | {
      readonly kind: 'staged';
      readonly token: string;
      readonly mail: MailKind;
      /** Where this browser's session keeps the token. */
      readonly pending: PendingField;
      /** The account the staging is for, when there is one. */
      readonly userId?: number;
      /** The experimental unverified sign-up: the account exists now and this browser signs in to it. */
      readonly signIn?: { readonly userId: number; readonly lastPasswordReset: number };
    }
  /** A business refusal, answered 200 with this reason. */
  | { readonly kind: 'refused'; readonly reason: string }
  | {
      readonly kind: 'limited';
      readonly limit: StagingLimit;
      readonly reason: string;
      readonly retryAt: number;
    };

/** Who asks: the client's address (for the per-IP limit), and when. */
export interface Stager {
  readonly clientIp: string;
  readonly now: number;
  /** Signs this browser out (a sign-up, a reset and a transition start from nobody). */
  signOut(): void;
  /** The outbox row of the mail of `kind` to `to`, written with the staging. */
  outbox(kind: MailKind, to: string): OutboxEntry;
}

export type StagingStore = Pick<
  Writer,
  | 'hitRateLimit'
  | 'lastStaged'
  | 'checkAuth'
  | 'emailToUID'
  | 'userOwnsEmail'
  | 'emailIsVerified'
  | 'stageUser'
  | 'stageEmail'
  | 'createUnverifiedUser'
>;

export interface StagingOptions {
  /** One verification mail per address per this long (the original's 60 s). */
  readonly minTimeBetweenEmailsMs: number;
  /** Verification mails per client address (SPEC §4.4). */
  readonly perIpLimit: RateLimit;
  /** Told each limit decision, for metrics. */
  readonly onLimit?: (limit: StagingLimit, allowed: boolean) => void;
}

export interface Staging {
  /** Never refused: a sign-up is staged or limited. */
  stageUser(
    stager: Stager,
    email: string,
    pass: string,
    allowUnverified: boolean,
  ): Promise<Exclude<StagingResult, { kind: 'refused' }>>;
  /** `pass`: chosen with the first secondary address of an account made through a primary, and only then. */
  stageEmail(stager: Stager, userId: number, email: string, pass: string | undefined): Promise<StagingResult>;
  stageReset(stager: Stager, email: string): Promise<StagingResult>;
  stageReverify(stager: Stager, userId: number, email: string): Promise<StagingResult>;
  stageTransition(stager: Stager, email: string, pass: string): Promise<StagingResult>;
}

const refused = (reason: string) => ({ kind: 'refused', reason }) as const;

export function createStaging(store: StagingStore, hasher: PasswordHasher, options: StagingOptions): Staging {
  type Limited = Extract<StagingResult, { kind: 'limited' }>;

  /** The limits, in order; the first that refuses, or undefined. `email` undefined: no per-address throttle. */
  async function limits(stager: Stager, email: string | undefined): Promise<Limited | undefined> {
    const hit = await store.hitRateLimit(`stage:ip:${stager.clientIp.toLowerCase()}`, options.perIpLimit);
    options.onLimit?.('stage:ip', hit.allowed);
    if (!hit.allowed)
      return {
        kind: 'limited',
        limit: 'stage:ip',
        reason: 'Too many requests from your address, try again later.',
        retryAt: hit.resetAt,
      };
    if (email === undefined) return undefined;
    const last = await store.lastStaged(email);
    const throttled = last !== undefined && stager.now - last.getTime() < options.minTimeBetweenEmailsMs;
    options.onLimit?.('email', !throttled);
    if (!throttled) return undefined;
    return {
      kind: 'limited',
      limit: 'email',
      reason: 'Too many emails sent to that address, try again later.',
      retryAt: last.getTime() + options.minTimeBetweenEmailsMs,
    };
  }

  /** A staging for an existing account, found by its address (reset and transition). */
  async function forAccountOf(
    stager: Stager,
    email: string,
    pass: string | undefined,
    mail: 'reset' | 'transition',
  ): Promise<StagingResult> {
    const limited = await limits(stager, email);
    if (limited) return limited;
    const userId = await store.emailToUID(email);
    if (userId === undefined) return refused('No such email address.');
    stager.signOut();
    // A reset's password is chosen on the landing page (new flow): null clears one an older staging left.
    const hash = pass === undefined ? null : await hasher.hash(pass);
    const token = await store.stageEmail(userId, email, hash, stager.outbox(mail, email));
    return { kind: 'staged', token, mail, pending: 'pendingReset', userId };
  }

  return {
    async stageUser(stager, email, pass, allowUnverified) {
      const limited = await limits(stager, email);
      if (limited) return limited;
      stager.signOut();
      const hash = await hasher.hash(pass);
      if (allowUnverified) {
        // The experimental unverified sign-up: the account exists now with its address unverified, and
        // this browser is signed in with the password just chosen, so it can get `unverified-email`
        // certificates until the link is followed.
        const account = await store.createUnverifiedUser(email, hash, stager.outbox('add', email));
        return {
          kind: 'staged',
          token: account.secret,
          mail: 'add',
          pending: 'pendingAddition',
          userId: account.userId,
          signIn: { userId: account.userId, lastPasswordReset: account.lastPasswordReset },
        };
      }
      const token = await store.stageUser(email, hash, stager.outbox('new', email));
      return { kind: 'staged', token, mail: 'new', pending: 'pendingCreation' };
    },

    async stageEmail(stager, userId, email, pass) {
      const limited = await limits(stager, email);
      if (limited) return limited;
      const auth = await store.checkAuth(userId);
      const needsPassword = !auth?.hash;
      if (needsPassword && pass === undefined) return refused('user must choose a password');
      if (!needsPassword && pass !== undefined) return refused('a password may not be set at this time');
      const hash = pass === undefined ? null : await hasher.hash(pass);
      const token = await store.stageEmail(userId, email, hash, stager.outbox('add', email));
      return { kind: 'staged', token, mail: 'add', pending: 'pendingAddition', userId };
    },

    stageReset: (stager, email) => forAccountOf(stager, email, undefined, 'reset'),

    async stageReverify(stager, userId, email) {
      // Not throttled per address, as the original; the per-IP limit still applies.
      const limited = await limits(stager, undefined);
      if (limited) return limited;
      if (!(await store.userOwnsEmail(userId, email))) return refused("you don't control that email address");
      if (await store.emailIsVerified(email)) return refused('email is already verified');
      const token = await store.stageEmail(userId, email, null, stager.outbox('reverify', email));
      return { kind: 'staged', token, mail: 'reverify', pending: 'pendingReverification', userId };
    },

    stageTransition: (stager, email, pass) => forAccountOf(stager, email, pass, 'transition'),
  };
}
