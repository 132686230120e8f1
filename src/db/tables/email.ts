/**
 * Reads on `email`. Addresses compare case-insensitively on both engines (MySQL through the column's
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
