/** Writes on `staged`: staging (an upsert that replaces the token), claiming a token, purging. */
import { generateSecret } from '../secrets.ts';
import { seconds, type Scope } from '../scope.ts';
import { fresh, stagedBySecret, type StagedRow } from '../tables/staged.ts';


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
