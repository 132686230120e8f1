/**
 * The dbwriter's handle (SPEC §2, §5): every read of the Reader too, answered by the write database
 * (read-your-writes), and every write, each in a transaction repeated on deadlock.
 */
import type { DatabaseSettings } from '../config.ts';
import { connect, type Connection } from '../connection.ts';
import { isDuplicate, isForeignKeyViolation, refuse } from '../errors.ts';
import {
  BUCKET,
  instrument,
  readsOn,
  remember,
  scopeFor,
  type HandleOptions,
  type RateLimit,
  type Reader,
} from '../reader.ts';
import type { EmailType } from '../schema.ts';
import type { Scope } from '../scope.ts';
import type { RateLimitHit } from '../tables/rate-limit.ts';
import { outboxDepth } from '../tables/mail-outbox.ts';
import { read, transact, type TransactOptions } from '../transaction.ts';
import * as valid from '../validate.ts';
import * as accounts from './accounts.ts';
import * as emails from './email.ts';
import * as idps from './idp.ts';
import * as rateLimits from './rate-limit.ts';
import * as outbox from './mail-outbox.ts';
import * as sessions from './session.ts';
import * as staged from './staged.ts';
import type { MailOrder, OutboxDepth } from '../tables/mail-outbox.ts';
import * as users from './user.ts';

export type { ConfirmedEmail, CreatedAccount, PrimaryAccount, UnverifiedAccount } from './accounts.ts';
export type { QueuedMail } from './mail-outbox.ts';
export type { MailOrder, OutboxDepth } from '../tables/mail-outbox.ts';

/** The mail a staging queues in its own transaction (SPEC §4.13), leased to the staging request's attempt. */
export interface OutboxEntry {
  readonly mail: MailOrder;
  readonly leaseMs: number;
}

export interface Writer extends Reader {
  /**
   * Stages a sign-up; returns the token to mail. Re-staging an address replaces its token. With `outbox`,
   * the mail carrying the token is queued in the same transaction.
   */
  stageUser(email: string, hash: string | null, outbox?: OutboxEntry): Promise<string>;
  /**
   * Stages an address addition, re-verification or password reset for an account. `hash`: a string
   * stages that password, null clears a staged one (reset, new flow), undefined keeps what is staged.
   */
  stageEmail(userId: number, email: string, hash?: string | null, outbox?: OutboxEntry): Promise<string>;
  completeCreateUser(secret: string): Promise<accounts.CreatedAccount>;
  completeConfirmEmail(secret: string): Promise<accounts.ConfirmedEmail>;
  /** `hash`: the new password's hash (new flow); omitted, the one staged with the token. */
  completePasswordReset(secret: string, hash?: string): Promise<accounts.CreatedAccount>;
  addPrimaryEmailToAccount(userId: number, email: string): Promise<void>;
  createUserWithPrimaryEmail(email: string): Promise<accounts.PrimaryAccount>;
  createUnverifiedUser(
    email: string,
    hash: string,
    outbox?: OutboxEntry,
  ): Promise<accounts.UnverifiedAccount>;
  /** Zeroes failed sign-ins; with invalidateSessions, moves lastPasswordReset and returns it. */
  updatePassword(userId: number, hash: string, invalidateSessions: boolean): Promise<number | undefined>;
  incAuthFailures(userId: number): Promise<void>;
  clearAuthFailures(userId: number): Promise<void>;
  /** Returns false when the address is unknown. */
  updateEmailLastUsedAs(email: string, type: EmailType): Promise<boolean>;
  removeEmail(userId: number, email: string): Promise<void>;
  /** Returns false when there was no such account. */
  cancelAccount(userId: number): Promise<boolean>;
  updateIDPLastSeen(domain: string): Promise<void>;
  forgetIDP(domain: string): Promise<void>;
  /** Counts a hit on a bucket (e.g. `ip:203.0.113.9`) and says whether it is within the limit. */
  hitRateLimit(bucket: string, limit: RateLimit): Promise<RateLimitHit>;
  /** Deletes counters whose window started more than `olderThanMs` ago. */
  pruneRateLimits(olderThanMs: number): Promise<number>;
  /** Deletes expired verification tokens (they already behave as absent). */
  purgeExpiredTokens(): Promise<number>;
  /** Claims up to `limit` due mails for one attempt each, leased for `leaseMs` (SPEC §4.13). */
  claimDueMail(limit: number, leaseMs: number): Promise<outbox.QueuedMail[]>;
  /** The mail was handed to SMTP, given up on or not worth sending: it leaves the outbox. */
  removeMail(token: string): Promise<void>;
  /** The attempt failed; the next is due at `retryAt` (epoch ms). */
  deferMail(token: string, retryAt: number): Promise<void>;
  /** Mail waiting in the outbox, for metrics. */
  outboxDepth(): Promise<OutboxDepth>;
  /** Ends session `sid` everywhere (SPEC §4.12); `expiresAt` (epoch ms): no cookie with it lives longer. */
  revokeSession(sid: string, expiresAt: number): Promise<void>;
  /** Deletes revocations whose sessions have expired anyway. */
  purgeRevokedSessions(): Promise<number>;
}

function writesOn(connection: Connection, scope: () => Scope): Omit<Writer, keyof Reader> {
  // Every write runs in a transaction, so a connection lost before COMMIT can be repeated safely.
  const write = async <T>(body: (s: Scope) => Promise<T>, options?: TransactOptions): Promise<T> => {
    try {
      return await transact(connection.db, (trx) => body({ ...scope(), db: trx }), {
        failoverWindowMs: connection.failoverWindowMs,
        ...options,
      });
    } catch (err) {
      // A foreign key names the user: it does not exist (or was cancelled meanwhile).
      if (isForeignKeyViolation(err)) refuse('no-such-user');
      throw err;
    }
  };
  const attaching: TransactOptions = { retryOn: isDuplicate };
  // Writes that leave the same state when done twice: repeated even when COMMIT's outcome is unknown.
  const idempotent: TransactOptions = { idempotent: true };
  const queue = (entry: OutboxEntry | undefined) => {
    if (entry === undefined) return undefined;
    if (!Number.isSafeInteger(entry.leaseMs) || entry.leaseMs < 0)
      refuse('invalid-input', 'leaseMs must be a whole number of milliseconds');
    if (!Object.values(entry.mail).every((v) => typeof v === 'string'))
      refuse('invalid-input', 'a mail order holds strings only');
    return entry;
  };
  /** Stages, then queues the mail carrying the new token, in one transaction. */
  const stageWith = async (s: Scope, entry: OutboxEntry | undefined, stage: () => Promise<string>) => {
    const token = await stage();
    if (entry !== undefined) await outbox.enqueue(s, token, entry.mail, entry.leaseMs);
    return token;
  };
  // Each operation validates its input first (async, so a refusal is a rejected promise like any other).
  return {
    stageUser: async (email, hash, outboxEntry) => {
      const staging = {
        email: valid.address(email),
        newAccount: true,
        existingUser: null,
        passwd: valid.optionalHash(hash),
      };
      const entry = queue(outboxEntry);
      return await write((s) => stageWith(s, entry, () => staged.stage(s, staging)));
    },
    stageEmail: async (userId, email, hash, outboxEntry) => {
      const staging = {
        email: valid.address(email),
        newAccount: false,
        existingUser: valid.userId(userId),
        passwd: hash === undefined ? undefined : valid.optionalHash(hash),
      };
      const entry = queue(outboxEntry);
      return await write((s) => stageWith(s, entry, () => staged.stage(s, staging)));
    },
    // Operations that attach an address repeat on a unique-key race (see tables/email.ts attachEmail).
    completeCreateUser: async (secret) => {
      if (!valid.isSecret(secret)) refuse('unknown-secret');
      return await write((s) => accounts.completeCreateUser(s, secret), attaching);
    },
    completeConfirmEmail: async (secret) => {
      if (!valid.isSecret(secret)) refuse('unknown-secret');
      return await write((s) => accounts.completeConfirmEmail(s, secret), attaching);
    },
    completePasswordReset: async (secret, hash) => {
      const newHash = hash === undefined ? undefined : valid.passwordHash(hash);
      if (!valid.isSecret(secret)) refuse('unknown-secret');
      return await write((s) => accounts.completePasswordReset(s, secret, newHash), attaching);
    },
    addPrimaryEmailToAccount: async (userId, email) => {
      const [uid, address] = [valid.userId(userId), valid.address(email)];
      await write((s) => accounts.addPrimaryEmailToAccount(s, uid, address), attaching);
    },
    createUserWithPrimaryEmail: async (email) => {
      const address = valid.address(email);
      // Two sign-ins racing for one new address: the loser's insert hits the unique key; its repeat
      // finds the winner's account.
      return await write((s) => accounts.createUserWithPrimaryEmail(s, address), attaching);
    },
    createUnverifiedUser: async (email, hash, outboxEntry) => {
      const [address, passwd] = [valid.address(email), valid.passwordHash(hash)];
      const entry = queue(outboxEntry);
      try {
        return await write(async (s) => {
          const account = await accounts.createUnverifiedUser(s, address, passwd);
          if (entry !== undefined) await outbox.enqueue(s, account.secret, entry.mail, entry.leaseMs);
          return account;
        });
      } catch (err) {
        if (isDuplicate(err)) refuse('address-in-use');
        throw err;
      }
    },
    updatePassword: async (userId, hash, invalidateSessions) => {
      const [uid, passwd] = [valid.userId(userId), valid.passwordHash(hash)];
      // Done twice, the hash is the same and lastPasswordReset moves once more: the answer carries the last.
      return await write((s) => users.setPassword(s, uid, passwd, invalidateSessions), idempotent);
    },
    incAuthFailures: async (userId) => {
      const uid = valid.userId(userId);
      await write((s) => users.incAuthFailures(s, uid));
    },
    clearAuthFailures: async (userId) => {
      const uid = valid.userId(userId);
      await write((s) => users.clearAuthFailures(s, uid), idempotent);
    },
    updateEmailLastUsedAs: async (email, type) => {
      const address = valid.address(email);
      const given: unknown = type; // callers may be plain JavaScript
      if (given !== 'primary' && given !== 'secondary')
        refuse('invalid-input', 'type must be primary or secondary');
      return await write((s) => emails.setEmailType(s, address, type), idempotent);
    },
    removeEmail: async (userId, email) => {
      const [uid, address] = [valid.userId(userId), valid.address(email)];
      await write((s) => accounts.removeEmail(s, uid, address));
    },
    cancelAccount: async (userId) => {
      const uid = valid.userId(userId);
      return await write((s) => accounts.cancelAccount(s, uid));
    },
    updateIDPLastSeen: async (domain) => {
      const name = valid.domain(domain);
      await write((s) => idps.updateIDPLastSeen(s, name), idempotent);
    },
    forgetIDP: async (domain) => {
      const name = valid.domain(domain);
      await write((s) => idps.forgetIDP(s, name), idempotent);
    },
    hitRateLimit: async (bucket, { limit, windowMs }) => {
      if (!BUCKET.test(bucket)) refuse('invalid-input', 'a bucket is 1 to 320 printable ASCII characters');
      if (!Number.isSafeInteger(limit) || limit < 1 || !Number.isSafeInteger(windowMs) || windowMs < 1)
        refuse('invalid-input', 'limit and windowMs must be positive integers');
      return await write((s) => rateLimits.hit(s, bucket, limit, windowMs));
    },
    pruneRateLimits: async (olderThanMs) => {
      if (!Number.isSafeInteger(olderThanMs) || olderThanMs < 0)
        refuse('invalid-input', 'olderThanMs must be a whole number of milliseconds');
      return await write((s) => rateLimits.prune(s, olderThanMs));
    },
    purgeExpiredTokens: () => write((s) => staged.purgeExpired(s)),
    claimDueMail: async (limit, leaseMs) => {
      if (!Number.isSafeInteger(limit) || limit < 1 || !Number.isSafeInteger(leaseMs) || leaseMs < 0)
        refuse('invalid-input', 'limit and leaseMs must be whole numbers');
      return await write((s) => outbox.claimDue(s, limit, leaseMs));
    },
    removeMail: async (token) => {
      if (!valid.isSecret(token)) refuse('invalid-input', 'not a token');
      await write((s) => outbox.remove(s, token), idempotent);
    },
    deferMail: async (token, retryAt) => {
      if (!valid.isSecret(token)) refuse('invalid-input', 'not a token');
      if (!Number.isSafeInteger(retryAt)) refuse('invalid-input', 'retryAt must be epoch milliseconds');
      await write((s) => outbox.defer(s, token, retryAt), idempotent);
    },
    outboxDepth: () => read(() => outboxDepth(scope()), { failoverWindowMs: connection.failoverWindowMs }),
    revokeSession: async (sid, expiresAt) => {
      if (!valid.isSessionId(sid)) refuse('invalid-input', 'not a session id');
      if (!Number.isSafeInteger(expiresAt)) refuse('invalid-input', 'expiresAt must be epoch milliseconds');
      await write((s) => sessions.revoke(s, sid, expiresAt), idempotent);
    },
    purgeRevokedSessions: () => write((s) => sessions.purgeExpired(s)),
  };
}

/** The dbwriter's handle. Opens at the first query (SQLite: creating the file and its directory). */
export function openWriter(settings: DatabaseSettings, options: HandleOptions = {}): Writer {
  const connection = connect(settings.write, 'write', settings.queryTimeoutMs);
  const scope = scopeFor(connection, settings, options);
  const writer = Object.freeze(
    instrument({ ...readsOn(connection, scope), ...writesOn(connection, scope) }, options.observe),
  );
  return remember(writer, connection);
}
