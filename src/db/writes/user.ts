/** Writes on `user`: new accounts, passwords, failed sign-ins, deletion. */
import { refuse } from '../errors.ts';
import { seconds, toNumber, type Scope } from '../scope.ts';
import { lastPasswordReset } from '../tables/user.ts';


export interface NewUser {
  readonly userId: number;
  /** Epoch seconds, as the original returned it so the webhead can build a session without re-reading. */
  readonly lastPasswordReset: number;
}

export async function insertUser({ db, engine, now }: Scope, passwd: string | null): Promise<NewUser> {
  const lastPasswordReset = seconds(now);
  const result = await db
    .insertInto('user')
    .values({ passwd, lastPasswordReset: engine.timestamp(lastPasswordReset), failedAuthTries: 0 })
    .executeTakeFirstOrThrow();
  return { userId: toNumber(result.insertId), lastPasswordReset };
}

/**
 * Stores a new hash and zeroes the failed sign-ins (as the original did on every update). With
 * `invalidateSessions`, bumps lastPasswordReset, which ends every other session; returns its new value.
 */
export async function setPassword(
  scope: Scope,
  uid: number,
  hash: string,
  invalidateSessions: boolean,
): Promise<number | undefined> {
  const { db, engine, now } = scope;
  // The time is kept in seconds: a second change within one second must still move it, or sessions
  // made in between would survive it.
  const bumped = invalidateSessions
    ? Math.max(seconds(now), ((await lastPasswordReset(scope, uid)) ?? 0) + 1)
    : undefined;
  const result = await db
    .updateTable('user')
    .set({
      passwd: hash,
      failedAuthTries: 0,
      ...(bumped === undefined ? {} : { lastPasswordReset: engine.timestamp(bumped) }),
    })
    .where('id', '=', uid)
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) refuse('no-such-user');
  return bumped;
}

export async function incAuthFailures({ db }: Scope, uid: number): Promise<void> {
  await db
    .updateTable('user')
    .set((eb) => ({ failedAuthTries: eb('failedAuthTries', '+', 1) }))
    .where('id', '=', uid)
    .execute();
}

export async function clearAuthFailures({ db }: Scope, uid: number): Promise<void> {
  // Only rows with failures: a clean account is not rewritten (SPEC §4.7).
  await db
    .updateTable('user')
    .set({ failedAuthTries: 0 })
    .where('id', '=', uid)
    .where('failedAuthTries', '!=', 0)
    .execute();
}

export async function deleteUser({ db }: Scope, uid: number): Promise<boolean> {
  const result = await db.deleteFrom('user').where('id', '=', uid).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
