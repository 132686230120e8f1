/** Writes on `email`: attaching, moving, retyping and removing addresses. Reads: ../tables/email.ts. */
import type { EmailType } from '../schema.ts';
import type { Scope } from '../scope.ts';


/**
 * Gives the address to `uid`, taking it from any other account first (issue #170 of the original).
 * Deletes by primary key only when the row exists: a DELETE of an absent key would take an InnoDB gap
 * lock, and two completions of different new addresses would then deadlock on each other's inserts.
 * If another transaction adds the address meanwhile, the insert fails on the unique key and the caller's
 * transaction is repeated (Writer: `retryOn: isDuplicate`), this time seeing the row and moving it.
 */
export async function attachEmail(
  scope: Scope,
  uid: number,
  address: string,
  type: EmailType,
  verified = true,
): Promise<void> {
  const existing = await scope.db
    .selectFrom('email')
    .select('id')
    .where('address', '=', address)
    .executeTakeFirst();
  if (existing !== undefined) await scope.db.deleteFrom('email').where('id', '=', existing.id).execute();
  await insertEmail(scope, uid, address, type, verified);
}

/** Adds the address to `uid`; fails on the unique key if any account has it (no moving). */
export async function insertEmail(
  { db }: Scope,
  uid: number,
  address: string,
  type: EmailType,
  verified = true,
): Promise<void> {
  await db
    .insertInto('email')
    .values({ user: uid, address, type, verified: verified ? 1 : 0 })
    .execute();
}

/** After a password reset the user's other secondary addresses must be re-verified (persona.md §5.7). */
export async function markOtherSecondariesUnverified(
  { db }: Scope,
  uid: number,
  except: string,
): Promise<void> {
  await db
    .updateTable('email')
    .set({ verified: 0 })
    .where('user', '=', uid)
    .where('type', '=', 'secondary')
    .where('address', '!=', except)
    .execute();
}

export async function setEmailType({ db }: Scope, address: string, type: EmailType): Promise<boolean> {
  const result = await db
    .updateTable('email')
    .set({ type })
    .where('address', '=', address)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function deleteEmail({ db }: Scope, address: string): Promise<void> {
  await db.deleteFrom('email').where('address', '=', address).execute();
}

export async function deleteEmailsOfUser({ db }: Scope, uid: number): Promise<void> {
  await db.deleteFrom('email').where('user', '=', uid).execute();
}
