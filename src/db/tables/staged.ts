/**
 * Reads on `staged`: one pending verification per address (UNIQUE email), each with a 48-character
 * token. Staging is an upsert on the address that replaces the token, so an older link dies.
 *
 * Expiry (SPEC §4.2): a token is valid for `tokenTtlMs` after `ts`, the time it was issued. `ts` is reset
 * by every (re)staging, the original's included, so rows written by a still-running original expire
 * correctly too. Expired rows behave exactly as absent ones; `purgeExpired` removes them.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { seconds, toNumber, type Scope } from '../scope.ts';

export interface StagedRow {
  readonly secret: string;
  readonly email: string;
  readonly newAccount: boolean;
  readonly existingUser: number | null;
  readonly passwd: string | null;
  /** Epoch seconds. */
  readonly issuedAt: number;
}

export function fresh(scope: Scope) {
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
