/**
 * The tables as Kysely sees them: the original Persona schema (reference/persona.md §3.2) with its column
 * names, plus our `rate_limit` table. Types are what both drivers return.
 */
import type { ColumnType, Generated } from 'kysely';

/**
 * A TIMESTAMP column of the original (MySQL TIMESTAMP, SQLite integer seconds). Opaque on purpose: it is
 * read and written only through `Engine.unixSeconds` / `Engine.timestamp`, which hide the difference.
 */
declare const timestampBrand: unique symbol;
export interface DbTimestamp {
  readonly [timestampBrand]: true;
}
type Timestamp = ColumnType<DbTimestamp, DbTimestamp | undefined, DbTimestamp>;

/** MySQL BOOLEAN is TINYINT(1); SQLite has integers: both come back as 0 or 1. */
type Flag = ColumnType<number, number | undefined, number>;

export type EmailType = 'secondary' | 'primary';

export interface UserTable {
  id: Generated<number>;
  /** bcrypt hash, or null for an account made through a primary. */
  passwd: string | null;
  lastPasswordReset: Timestamp;
  failedAuthTries: ColumnType<number, number | undefined, number>;
}

export interface EmailTable {
  id: Generated<number>;
  user: number;
  address: string;
  /** How the address was last used (the original's "lastUsedAs"). */
  type: ColumnType<EmailType, EmailType | undefined, EmailType>;
  verified: Flag;
}

export interface StagedTable {
  id: Generated<number>;
  secret: string;
  new_acct: number;
  existing_user: number | null;
  email: string;
  passwd: string | null;
  /** When the current token was issued: every (re)staging sets it, ours and the original's. */
  ts: Timestamp;
}

export interface IdpTable {
  id: Generated<number>;
  domain: string;
  lastSeen: Timestamp;
}

/** Ours (SPEC §4.4): fixed-window counters shared by every instance. Times are epoch milliseconds. */
export interface RateLimitTable {
  bucket: string;
  window_start: number;
  hits: number;
}

/** Ours (SPEC §4.13): verification mail not yet handed to SMTP. Times are epoch milliseconds. */
export interface MailOutboxTable {
  /** The staged token the mail's link carries. */
  token: string;
  /** JSON: what the mail says but the token (kind, recipient, site). */
  mail: string;
  created_at: number;
  attempts: ColumnType<number, number | undefined, number>;
  /** When the next attempt is due; also the lease of the attempt in progress. */
  next_attempt_at: number;
}

/** Ours (SPEC §4.12): session ids ended server-side, kept until a cookie carrying one would have expired. */
export interface RevokedSessionTable {
  sid: string;
  expires_at: number;
}

export interface Database {
  user: UserTable;
  email: EmailTable;
  staged: StagedTable;
  idp: IdpTable;
  rate_limit: RateLimitTable;
  mail_outbox: MailOutboxTable;
  revoked_session: RevokedSessionTable;
}
