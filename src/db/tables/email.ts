/**
 * Queries on `email`. Addresses compare case-insensitively on both engines (MySQL through the column's
 * `_ci` collation, SQLite through `COLLATE NOCASE` on the column), so `=` here is the lookup we want.
 * One address belongs to one account: the column is UNIQUE, and attaching deletes it elsewhere first.
 */
import type { EmailType } from '../schema.ts';
import { toNumber, type Scope } from '../scope.ts';

export async function emailKnown({ db }: Scope, address: string): Promise<boolean> {
  const row = await db.selectFrom('email').select('id').where('address', '=', address).executeTakeFirst();
  return row !== undefined;
}

export async function emailToUID({ db }: Scope, address: string): Promise<number | undefined> {
  const row = await db.selectFrom('email').select('user').where('address', '=', address).executeTakeFirst();
  return row && toNumber(row.user);
}

export interface EmailInfo {
  readonly userId: number;
  /** The address as stored (its original case). */
  readonly normalizedEmail: string;
  readonly lastUsedAs: EmailType;
  readonly verified: boolean;
  readonly hasPassword: boolean;
}

export async function emailInfo({ db }: Scope, address: string): Promise<EmailInfo | undefined> {
  const row = await db
    .selectFrom('email')
    .innerJoin('user', 'user.id', 'email.user')
    .select(['email.user', 'email.address', 'email.type', 'email.verified', 'user.passwd'])
    .where('email.address', '=', address)
    .executeTakeFirst();
  return (
    row && {
      userId: toNumber(row.user),
      normalizedEmail: row.address,
      lastUsedAs: row.type,
      verified: toNumber(row.verified) === 1,
      hasPassword: typeof row.passwd === 'string' && row.passwd.length > 0,
    }
  );
}

export async function emailType({ db }: Scope, address: string): Promise<EmailType | undefined> {
  const row = await db.selectFrom('email').select('type').where('address', '=', address).executeTakeFirst();
  return row?.type;
}

export async function emailIsVerified({ db }: Scope, address: string): Promise<boolean | undefined> {
  const row = await db
    .selectFrom('email')
    .select('verified')
    .where('address', '=', address)
    .executeTakeFirst();
  return row && toNumber(row.verified) === 1;
}

export async function emailsBelongToSameAccount({ db }: Scope, a: string, b: string): Promise<boolean> {
  const row = await db
    .selectFrom('email as a')
    .innerJoin('email as b', 'b.user', 'a.user')
    .select('a.id')
    .where('a.address', '=', a)
    .where('b.address', '=', b)
    .executeTakeFirst();
  return row !== undefined;
}

export async function userOwnsEmail({ db }: Scope, uid: number, address: string): Promise<boolean> {
  const row = await db
    .selectFrom('email')
    .select('id')
    .where('address', '=', address)
    .where('user', '=', uid)
    .executeTakeFirst();
  return row !== undefined;
}

export async function listEmails({ db }: Scope, uid: number): Promise<string[]> {
  const rows = await db.selectFrom('email').select('address').where('user', '=', uid).orderBy('id').execute();
  return rows.map((row) => row.address);
}

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
