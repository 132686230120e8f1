/**
 * The two handles the tiers hold (SPEC §2, §5; reference/persona.md §3.1):
 * - a Reader (the webhead's): its type has read operations only, and its connection refuses writes
 *   (SQLite opened read-only; MySQL sessions `SET SESSION TRANSACTION READ ONLY`);
 * - a Writer (the dbwriter's): every read too, answered by the write database (read-your-writes), and
 *   every write, each in a transaction repeated on deadlock.
 * Both throw DatabaseUnavailableError when the database does not answer within the query time limit or
 * cannot be reached, and StorageError for domain outcomes.
 */
import { sql, type Kysely } from 'kysely';
import * as accounts from './accounts.ts';
import type { DatabaseSettings } from './config.ts';
import { connect, type Connection } from './connection.ts';
import {
  DatabaseUnavailableError,
  StorageError,
  isDuplicate,
  isForeignKeyViolation,
  refuse,
} from './errors.ts';
import type { Database, EmailType } from './schema.ts';
import type { Scope } from './scope.ts';
import * as emails from './tables/email.ts';
import * as idps from './tables/idp.ts';
import * as rateLimits from './tables/rate-limit.ts';
import * as staged from './tables/staged.ts';
import * as users from './tables/user.ts';
import { read, transact, type TransactOptions } from './transaction.ts';
import * as valid from './validate.ts';

export type { EmailInfo } from './tables/email.ts';
export type { Auth } from './tables/user.ts';
export type { RateLimitHit } from './tables/rate-limit.ts';
export type { ConfirmedEmail, CreatedAccount, PrimaryAccount, UnverifiedAccount } from './accounts.ts';
export type { EmailType } from './schema.ts';

/** What `email_for_token` needs about a pending verification. */
export interface PendingVerification {
  readonly email: string;
  readonly newAccount: boolean;
  readonly existingUser: number | null;
  /** A password hash was chosen at staging (else completion may need one). */
  readonly hasStagedPassword: boolean;
}

export interface VerificationAuth {
  /** The hash to check a password proof against: the staged one, else the account's; null if neither. */
  readonly hash: string | null;
  readonly userId: number | null;
  /** True when `hash` came from the staged row. */
  readonly staged: boolean;
}

export interface Reader {
  /** Succeeds when the database answers (deep heartbeats). */
  ping(): Promise<void>;
  emailKnown(email: string): Promise<boolean>;
  emailInfo(email: string): Promise<emails.EmailInfo | undefined>;
  emailType(email: string): Promise<EmailType | undefined>;
  /** The original's second name for emailType. */
  emailLastUsedAs(email: string): Promise<EmailType | undefined>;
  emailIsVerified(email: string): Promise<boolean | undefined>;
  emailToUID(email: string): Promise<number | undefined>;
  emailsBelongToSameAccount(a: string, b: string): Promise<boolean>;
  userOwnsEmail(userId: number, email: string): Promise<boolean>;
  listEmails(userId: number): Promise<string[]>;
  userKnown(userId: number): Promise<boolean>;
  checkAuth(userId: number): Promise<users.Auth | undefined>;
  /** Epoch seconds; sessions older than this are void. */
  lastPasswordReset(userId: number): Promise<number | undefined>;
  /** A live (unexpired) verification is pending for the address. */
  isStaged(email: string): Promise<boolean>;
  /** When the address's pending verification was issued (the 60 s mail throttle reads it). */
  lastStaged(email: string): Promise<Date | undefined>;
  haveVerificationSecret(secret: string): Promise<boolean>;
  emailForVerificationSecret(secret: string): Promise<PendingVerification | undefined>;
  authForVerificationSecret(secret: string): Promise<VerificationAuth | undefined>;
  verificationSecretForEmail(email: string): Promise<string | undefined>;
  getIDPLastSeen(domain: string): Promise<Date | undefined>;
  /** Hits counted on a rate-limit bucket in its current window (0 when the window has run out). */
  rateLimitHits(bucket: string, windowMs: number): Promise<number>;
  close(): Promise<void>;
}

export interface RateLimit {
  readonly limit: number;
  readonly windowMs: number;
}

export interface Writer extends Reader {
  /** Stages a sign-up; returns the token to mail. Re-staging an address replaces its token. */
  stageUser(email: string, hash: string | null): Promise<string>;
  /**
   * Stages an address addition, re-verification or password reset for an account. `hash`: a string
   * stages that password, null clears a staged one (reset, new flow), undefined keeps what is staged.
   */
  stageEmail(userId: number, email: string, hash?: string | null): Promise<string>;
  completeCreateUser(secret: string): Promise<accounts.CreatedAccount>;
  completeConfirmEmail(secret: string): Promise<accounts.ConfirmedEmail>;
  /** `hash`: the new password's hash (new flow); omitted, the one staged with the token. */
  completePasswordReset(secret: string, hash?: string): Promise<accounts.CreatedAccount>;
  addPrimaryEmailToAccount(userId: number, email: string): Promise<void>;
  createUserWithPrimaryEmail(email: string): Promise<accounts.PrimaryAccount>;
  createUnverifiedUser(email: string, hash: string): Promise<accounts.UnverifiedAccount>;
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
  hitRateLimit(bucket: string, limit: RateLimit): Promise<rateLimits.RateLimitHit>;
  /** Deletes counters whose window started more than `olderThanMs` ago. */
  pruneRateLimits(olderThanMs: number): Promise<number>;
  /** Deletes expired verification tokens (they already behave as absent). */
  purgeExpiredTokens(): Promise<number>;
}

/** One finished operation, for metrics (SPEC §6: DB timings). Carries no arguments, so no secrets. */
export interface OperationEvent {
  readonly operation: string;
  readonly durationMs: number;
  /** ok; refused (a StorageError: a domain answer); unavailable (→ 503); error (a bug). */
  readonly outcome: 'ok' | 'refused' | 'unavailable' | 'error';
}

export interface HandleOptions {
  /** Epoch milliseconds; tests move time to expire tokens. */
  readonly clock?: () => number;
  /** Called after every operation. */
  readonly observe?: (event: OperationEvent) => void;
}

const connections = new WeakMap<object, Connection>();

/**
 * The Kysely instance under a handle, for tests and diagnostics only. For a Reader it is bound to the
 * read-only connection, so even this way round it cannot write.
 */
export function connectionOf(handle: Reader): Kysely<Database> {
  const connection = connections.get(handle);
  if (connection === undefined) throw new Error('not a data-layer handle');
  return connection.db;
}

const BUCKET = /^[\x21-\x7e]{1,320}$/;

function readsOn(connection: Connection, scope: () => Scope): Reader {
  // Inputs that fail validation cannot match a stored row, so they are answered without a query.
  const byAddress =
    <T>(missing: T, query: (s: Scope, address: string) => Promise<T>) =>
    (email: string): Promise<T> =>
      valid.isAddress(email) ? read(() => query(scope(), email)) : Promise.resolve(missing);
  const byUser =
    <T>(missing: T, query: (s: Scope, userId: number) => Promise<T>) =>
    (userId: number): Promise<T> =>
      valid.isUserId(userId) ? read(() => query(scope(), userId)) : Promise.resolve(missing);
  const bySecret =
    <T>(missing: T, query: (s: Scope, secret: string) => Promise<T>) =>
    (secret: string): Promise<T> =>
      valid.isSecret(secret) ? read(() => query(scope(), secret)) : Promise.resolve(missing);

  const emailType = byAddress(undefined, emails.emailType);
  return {
    ping: () =>
      read(async () => {
        await sql`SELECT 1`.execute(connection.db);
      }),
    emailKnown: byAddress(false, emails.emailKnown),
    emailInfo: byAddress(undefined, emails.emailInfo),
    emailType,
    emailLastUsedAs: emailType,
    emailIsVerified: byAddress(undefined, emails.emailIsVerified),
    emailToUID: byAddress(undefined, emails.emailToUID),
    emailsBelongToSameAccount: (a, b) =>
      valid.isAddress(a) && valid.isAddress(b)
        ? read(() => emails.emailsBelongToSameAccount(scope(), a, b))
        : Promise.resolve(false),
    userOwnsEmail: (userId, email) =>
      valid.isUserId(userId) && valid.isAddress(email)
        ? read(() => emails.userOwnsEmail(scope(), userId, email))
        : Promise.resolve(false),
    listEmails: byUser([], emails.listEmails),
    userKnown: byUser(false, users.userKnown),
    checkAuth: byUser(undefined, users.checkAuth),
    lastPasswordReset: byUser(undefined, users.lastPasswordReset),
    isStaged: byAddress(false, async (s, email) => (await staged.stagedByEmail(s, email)) !== undefined),
    lastStaged: byAddress(undefined, async (s, email) => {
      const row = await staged.stagedByEmail(s, email);
      return row && new Date(row.issuedAt * 1000);
    }),
    haveVerificationSecret: bySecret(
      false,
      async (s, secret) => (await staged.stagedBySecret(s, secret)) !== undefined,
    ),
    emailForVerificationSecret: bySecret(undefined, async (s, secret) => {
      const row = await staged.stagedBySecret(s, secret);
      return (
        row && {
          email: row.email,
          newAccount: row.newAccount,
          existingUser: row.existingUser,
          hasStagedPassword: row.passwd !== null,
        }
      );
    }),
    authForVerificationSecret: bySecret(undefined, async (s, secret) => {
      const row = await staged.stagedBySecret(s, secret);
      if (row === undefined) return undefined;
      if (row.passwd !== null) return { hash: row.passwd, userId: row.existingUser, staged: true };
      const auth = row.existingUser === null ? undefined : await users.checkAuth(s, row.existingUser);
      return { hash: auth?.hash ?? null, userId: row.existingUser, staged: false };
    }),
    verificationSecretForEmail: byAddress(
      undefined,
      async (s, email) => (await staged.stagedByEmail(s, email))?.secret,
    ),
    getIDPLastSeen: (domain) =>
      valid.isDomain(domain)
        ? read(async () => {
            const t = await idps.getIDPLastSeen(scope(), domain);
            return t === undefined ? undefined : new Date(t * 1000);
          })
        : Promise.resolve(undefined),
    rateLimitHits: (bucket, windowMs) =>
      BUCKET.test(bucket) ? read(() => rateLimits.hitsOf(scope(), bucket, windowMs)) : Promise.resolve(0),
    close: () => connection.close(),
  };
}

function writesOn(connection: Connection, scope: () => Scope): Omit<Writer, keyof Reader> {
  // Every write runs in a transaction, so a connection lost before COMMIT can be repeated safely.
  const write = async <T>(body: (s: Scope) => Promise<T>, options?: TransactOptions): Promise<T> => {
    try {
      return await transact(connection.db, (trx) => body({ ...scope(), db: trx }), options);
    } catch (err) {
      // A foreign key names the user: it does not exist (or was cancelled meanwhile).
      if (isForeignKeyViolation(err)) refuse('no-such-user');
      throw err;
    }
  };
  const attaching: TransactOptions = { retryOn: isDuplicate };
  // Each operation validates its input first (async, so a refusal is a rejected promise like any other).
  return {
    stageUser: async (email, hash) => {
      const staging = {
        email: valid.address(email),
        newAccount: true,
        existingUser: null,
        passwd: valid.optionalHash(hash),
      };
      return await write((s) => staged.stage(s, staging));
    },
    stageEmail: async (userId, email, hash) => {
      const staging = {
        email: valid.address(email),
        newAccount: false,
        existingUser: valid.userId(userId),
        passwd: hash === undefined ? undefined : valid.optionalHash(hash),
      };
      return await write((s) => staged.stage(s, staging));
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
    createUnverifiedUser: async (email, hash) => {
      const [address, passwd] = [valid.address(email), valid.passwordHash(hash)];
      try {
        return await write((s) => accounts.createUnverifiedUser(s, address, passwd));
      } catch (err) {
        if (isDuplicate(err)) refuse('address-in-use');
        throw err;
      }
    },
    updatePassword: async (userId, hash, invalidateSessions) => {
      const [uid, passwd] = [valid.userId(userId), valid.passwordHash(hash)];
      return await write((s) => users.setPassword(s, uid, passwd, invalidateSessions));
    },
    incAuthFailures: async (userId) => {
      const uid = valid.userId(userId);
      await write((s) => users.incAuthFailures(s, uid));
    },
    clearAuthFailures: async (userId) => {
      const uid = valid.userId(userId);
      await write((s) => users.clearAuthFailures(s, uid));
    },
    updateEmailLastUsedAs: async (email, type) => {
      const address = valid.address(email);
      const given: unknown = type; // callers may be plain JavaScript
      if (given !== 'primary' && given !== 'secondary')
        refuse('invalid-input', 'type must be primary or secondary');
      return await write((s) => emails.setEmailType(s, address, type));
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
      await write((s) => idps.updateIDPLastSeen(s, name));
    },
    forgetIDP: async (domain) => {
      const name = valid.domain(domain);
      await write((s) => idps.forgetIDP(s, name));
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
  };
}

function instrument<T extends object>(handle: T, observe: HandleOptions['observe']): T {
  if (observe === undefined) return handle;
  const timed = Object.entries(handle).map(([operation, fn]) => {
    if (operation === 'close' || typeof fn !== 'function') return [operation, fn as unknown];
    const call = fn as (...args: unknown[]) => Promise<unknown>;
    return [
      operation,
      async (...args: unknown[]) => {
        const start = performance.now();
        let outcome: OperationEvent['outcome'] = 'ok';
        try {
          return await call(...args);
        } catch (err) {
          outcome =
            err instanceof StorageError
              ? 'refused'
              : err instanceof DatabaseUnavailableError
                ? 'unavailable'
                : 'error';
          throw err;
        } finally {
          observe({ operation, durationMs: performance.now() - start, outcome });
        }
      },
    ];
  });
  return Object.fromEntries(timed) as T;
}

function scopeFor(connection: Connection, settings: DatabaseSettings, options: HandleOptions): () => Scope {
  const clock = options.clock ?? Date.now;
  return () => ({
    db: connection.db,
    engine: connection.engine,
    now: clock(),
    tokenTtlMs: settings.tokenTtlMs,
  });
}

/** The webhead's handle: reads only, on a connection that refuses writes. Opens at the first query. */
export function openReader(settings: DatabaseSettings, options: HandleOptions = {}): Reader {
  const connection = connect(settings.read, 'read', settings.queryTimeoutMs);
  const reader = Object.freeze(
    instrument(readsOn(connection, scopeFor(connection, settings, options)), options.observe),
  );
  connections.set(reader, connection);
  return reader;
}

/** The dbwriter's handle. Opens at the first query (SQLite: creating the file and its directory). */
export function openWriter(settings: DatabaseSettings, options: HandleOptions = {}): Writer {
  const connection = connect(settings.write, 'write', settings.queryTimeoutMs);
  const scope = scopeFor(connection, settings, options);
  const writer = Object.freeze(
    instrument({ ...readsOn(connection, scope), ...writesOn(connection, scope) }, options.observe),
  );
  connections.set(writer, connection);
  return writer;
}
