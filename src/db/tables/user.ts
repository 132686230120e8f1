/** Reads on `user`: passwords, the session-invalidation time, failed sign-ins. */
import { toNumber, type Scope } from '../scope.ts';

export async function userKnown({ db }: Scope, uid: number): Promise<boolean> {
  const row = await db.selectFrom('user').select('id').where('id', '=', uid).executeTakeFirst();
  return row !== undefined;
}

export interface Auth {
  /** bcrypt hash, or null when the account has no password (made through a primary). */
  readonly hash: string | null;
  readonly failedAuthTries: number;
}

export async function checkAuth({ db }: Scope, uid: number): Promise<Auth | undefined> {
  const row = await db
    .selectFrom('user')
    .select(['passwd', 'failedAuthTries'])
    .where('id', '=', uid)
    .executeTakeFirst();
  return row && { hash: row.passwd, failedAuthTries: toNumber(row.failedAuthTries) };
}

export async function lastPasswordReset({ db, engine }: Scope, uid: number): Promise<number | undefined> {
  const row = await db
    .selectFrom('user')
    .select(engine.unixSeconds('user.lastPasswordReset').as('t'))
    .where('id', '=', uid)
    .executeTakeFirst();
  return row && toNumber(row.t);
}
