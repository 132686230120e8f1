/**
 * The webhead's handle (SPEC §2, §5; reference/persona.md §3.1), and the reads the dbwriter's Writer
 * (./writes/writer.ts) shares: its type has read operations only, and its connection refuses writes
 * (SQLite opened read-only; MySQL sessions `SET SESSION TRANSACTION READ ONLY`). Handles throw
 * DatabaseUnavailableError when the database does not answer within the query time limit or cannot be
 * reached, and StorageError for domain outcomes.
 */
import { sql, type Kysely } from 'kysely';
import type { DatabaseSettings } from './config.ts';
import { connect, type Connection } from './connection.ts';
import { DatabaseUnavailableError, StorageError } from './errors.ts';
import type { Database, EmailType } from './schema.ts';
import type { Scope } from './scope.ts';
import * as emails from './tables/email.ts';
import * as idps from './tables/idp.ts';
import * as rateLimits from './tables/rate-limit.ts';
import * as sessions from './tables/session.ts';
import * as staged from './tables/staged.ts';
import * as users from './tables/user.ts';
import { read as readOn } from './transaction.ts';
import * as valid from './validate.ts';

export type { EmailInfo } from './tables/email.ts';
export type { Auth } from './tables/user.ts';
export type { RateLimitHit } from './tables/rate-limit.ts';
export type { SessionStanding } from './tables/session.ts';
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
  /** lastPasswordReset and whether session `sid` was revoked, in one query; undefined when the user is gone. */
  sessionStanding(userId: number, sid: string | undefined): Promise<sessions.SessionStanding | undefined>;
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
  /** The bucket's running window (hits, start in epoch ms), undefined when none runs: sign-in delays read it. */
  rateLimitWindow(
    bucket: string,
    windowMs: number,
  ): Promise<{ readonly hits: number; readonly windowStart: number } | undefined>;
  close(): Promise<void>;
}

export interface RateLimit {
  readonly limit: number;
  readonly windowMs: number;
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

/** Records the connection under a handle, for connectionOf. */
export function remember<T extends Reader>(handle: T, connection: Connection): T {
  connections.set(handle, connection);
  return handle;
}

/**
 * The Kysely instance under a handle, for tests and diagnostics only. For a Reader it is bound to the
 * read-only connection, so even this way round it cannot write.
 */
export function connectionOf(handle: Reader): Kysely<Database> {
  const connection = connections.get(handle);
  if (connection === undefined) throw new Error('not a data-layer handle');
  return connection.db;
}

export const BUCKET = /^[\x21-\x7e]{1,320}$/;

export function readsOn(connection: Connection, scope: () => Scope): Reader {
  const read = <T>(query: () => Promise<T>): Promise<T> =>
    readOn(query, { failoverWindowMs: connection.failoverWindowMs });
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
    sessionStanding: (userId, sid) =>
      valid.isUserId(userId)
        ? read(() =>
            sessions.sessionStanding(
              scope(),
              userId,
              sid !== undefined && valid.isSessionId(sid) ? sid : undefined,
            ),
          )
        : Promise.resolve(undefined),
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
    rateLimitWindow: (bucket, windowMs) =>
      BUCKET.test(bucket)
        ? read(() => rateLimits.windowOf(scope(), bucket, windowMs))
        : Promise.resolve(undefined),
    close: () => connection.close(),
  };
}

export function instrument<T extends object>(handle: T, observe: HandleOptions['observe']): T {
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

export function scopeFor(
  connection: Connection,
  settings: DatabaseSettings,
  options: HandleOptions,
): () => Scope {
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
  return remember(reader, connection);
}
