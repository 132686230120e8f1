/**
 * Queries on `staged`: one pending verification per address (UNIQUE email), each with a 48-character
 * token. Staging is an upsert on the address that replaces the token, so an older link dies.
 *
 * Expiry (SPEC §4.2): a token is valid for `tokenTtlMs` after `ts`, the time it was issued. `ts` is reset
 * by every (re)staging, the original's included, so rows written by a still-running original expire
 * correctly too. Expired rows behave exactly as absent ones; `purgeExpired` removes them.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { generateSecret } from '../secrets.ts';
import { seconds, toNumber, type Scope } from '../scope.ts';

export interface Staging {
  readonly email: string;
  readonly newAccount: boolean;
  readonly existingUser: number | null;
  /**
   * The hash chosen at staging: a string sets it, null clears it (the new reset flow), undefined keeps
   * what a previous staging of this address left.
   */
  readonly passwd: string | null | undefined;
}

export async function stage({ db, engine, now }: Scope, staging: Staging): Promise<string> {
  const secret = generateSecret();
  const ts = engine.timestamp(seconds(now));
  const row = {
    secret,
    new_acct: staging.newAccount ? 1 : 0,
    existing_user: staging.existingUser,
    email: staging.email,
    ts,
  };
  const update = {
    ...row,
    ...(staging.passwd === undefined ? {} : { passwd: staging.passwd }),
  };
  const insert = db.insertInto('staged').values({ ...row, passwd: staging.passwd ?? null });
  await (
    engine.kind === 'mysql'
      ? insert.onDuplicateKeyUpdate(update)
      : insert.onConflict((oc) => oc.column('email').doUpdateSet(update))
  ).execute();
  return secret;
}

export interface StagedRow {
  readonly secret: string;
  readonly email: string;
  readonly newAccount: boolean;
  readonly existingUser: number | null;
  readonly passwd: string | null;
  /** Epoch seconds. */
  readonly issuedAt: number;
}

function fresh(scope: Scope) {
  return scope.engine.timestamp(seconds(scope.now - scope.tokenTtlMs));
}

function selectStaged(scope: Scope, db: Kysely<Database> = scope.db) {
  return db
    .selectFrom('staged')
    .select([
      'secret',
      'email',
      'new_acct',
      'existing_user',
      'passwd',
      scope.engine.unixSeconds('staged.ts').as('issued'),
    ])
    .where('ts', '>', fresh(scope));
}

type RawStaged = {
  secret: string;
  email: string;
  new_acct: number;
  existing_user: number | null;
  passwd: string | null;
  issued: number;
};

const toStaged = (row: RawStaged): StagedRow => ({
  secret: row.secret,
  email: row.email,
  newAccount: toNumber(row.new_acct) === 1,
  existingUser: row.existing_user === null ? null : toNumber(row.existing_user),
  passwd: row.passwd,
  issuedAt: toNumber(row.issued),
});

export async function stagedBySecret(scope: Scope, secret: string): Promise<StagedRow | undefined> {
  const row = await selectStaged(scope).where('secret', '=', secret).executeTakeFirst();
  return row && toStaged(row);
}

export async function stagedByEmail(scope: Scope, address: string): Promise<StagedRow | undefined> {
  const row = await selectStaged(scope).where('email', '=', address).executeTakeFirst();
  return row && toStaged(row);
}

/**
 * Takes the token for this operation: reads the row and deletes it, and only the caller whose DELETE
 * removed it owns it. Two completions of one token at once: one wins, the other sees an unknown token.
 */
export async function claim(scope: Scope, secret: string): Promise<StagedRow | undefined> {
  const row = await stagedBySecret(scope, secret);
  if (row === undefined) return undefined;
  const result = await scope.db.deleteFrom('staged').where('secret', '=', secret).executeTakeFirst();
  return result.numDeletedRows === 1n ? row : undefined;
}

export async function deleteStagedOfUser({ db }: Scope, uid: number): Promise<void> {
  await db.deleteFrom('staged').where('existing_user', '=', uid).execute();
}

export async function purgeExpired(scope: Scope): Promise<number> {
  const result = await scope.db.deleteFrom('staged').where('ts', '<=', fresh(scope)).executeTakeFirst();
  return Number(result.numDeletedRows);
}
