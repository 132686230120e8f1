/**
 * Operations that touch several tables (reference/persona.md §3.2). Each runs inside one transaction,
 * given as the scope's `db`, so it happens entirely or not at all.
 */
import { refuse } from '../errors.ts';
import type { Scope } from '../scope.ts';
import * as emails from '../tables/email.ts';
import type { StagedRow } from '../tables/staged.ts';
import * as users from '../tables/user.ts';
import * as emailWrites from './email.ts';
import * as staged from './staged.ts';
import * as userWrites from './user.ts';

export interface CreatedAccount {
  readonly email: string;
  readonly userId: number;
  /** Epoch seconds; returned so the webhead needs no read that a lagging replica could miss. */
  readonly lastPasswordReset: number;
}

export interface ConfirmedEmail {
  readonly email: string;
  readonly userId: number;
}

async function claimOrRefuse(scope: Scope, secret: string): Promise<StagedRow> {
  return (await staged.claim(scope, secret)) ?? refuse('unknown-secret');
}

/** Completes a sign-up: the account with the password chosen at staging and the verified address. */
export async function completeCreateUser(scope: Scope, secret: string): Promise<CreatedAccount> {
  const row = await claimOrRefuse(scope, secret);
  if (!row.newAccount) refuse('wrong-secret-kind', 'this verification link is not for a new account');
  const { userId, lastPasswordReset } = await userWrites.insertUser(scope, row.passwd);
  // The WSAPI layer records new addresses as secondary (persona.md §3.2).
  await emailWrites.attachEmail(scope, userId, row.email, 'secondary');
  return { email: row.email, userId, lastPasswordReset };
}

/** Completes an address addition or re-verification; sets the password staged with it, if any. */
export async function completeConfirmEmail(scope: Scope, secret: string): Promise<ConfirmedEmail> {
  const row = await claimOrRefuse(scope, secret);
  if (row.newAccount) refuse('wrong-secret-kind', 'this verification link is not for an email addition');
  const userId =
    row.existingUser ?? refuse('data-inconsistency', 'no user associated with the staged address');
  if (row.passwd !== null) await userWrites.setPassword(scope, userId, row.passwd, false);
  else if (!(await users.userKnown(scope, userId))) refuse('no-such-user');
  await emailWrites.attachEmail(scope, userId, row.email, 'secondary');
  return { email: row.email, userId };
}

/**
 * Completes a password reset (or a primary→secondary transition, whose hash was staged): the user's
 * other secondary addresses become unverified, this one verified, the new hash is stored, failed
 * sign-ins are cleared and lastPasswordReset moves, ending every other session.
 */
export async function completePasswordReset(
  scope: Scope,
  secret: string,
  hash: string | undefined,
): Promise<CreatedAccount> {
  const row = await claimOrRefuse(scope, secret);
  const newHash = hash ?? row.passwd;
  if (row.newAccount || row.existingUser === null || newHash === null)
    refuse('wrong-secret-kind', 'this verification link is not for a password reset');
  // The address must still belong to the account that asked for the reset.
  if ((await emails.emailToUID(scope, row.email)) !== row.existingUser) refuse('data-inconsistency');
  const userId = row.existingUser;
  await emailWrites.markOtherSecondariesUnverified(scope, userId, row.email);
  await emailWrites.attachEmail(scope, userId, row.email, 'secondary');
  const lastPasswordReset = (await userWrites.setPassword(scope, userId, newHash, true)) ?? 0;
  return { email: row.email, userId, lastPasswordReset };
}

export interface PrimaryAccount {
  readonly userId: number;
  readonly lastPasswordReset: number;
  /** False when the address already had an account (a racing sign-in made it): that one is returned. */
  readonly created: boolean;
}

/** An account without a password, for an address its primary vouched for. */
export async function createUserWithPrimaryEmail(scope: Scope, address: string): Promise<PrimaryAccount> {
  const owner = await emails.emailToUID(scope, address);
  if (owner !== undefined) {
    return {
      userId: owner,
      lastPasswordReset: (await users.lastPasswordReset(scope, owner)) ?? 0,
      created: false,
    };
  }
  const { userId, lastPasswordReset } = await userWrites.insertUser(scope, null);
  // Insert, not attach: if a racing creation got the address first, this fails on the unique key (or
  // deadlocks), the transaction is repeated, and the repeat takes the branch above. Attaching would
  // take the address from the winner and leave two accounts.
  await emailWrites.insertEmail(scope, userId, address, 'primary');
  return { userId, lastPasswordReset, created: true };
}

export interface UnverifiedAccount {
  readonly userId: number;
  readonly lastPasswordReset: number;
  /** The token that verifies the address later. */
  readonly secret: string;
}

/** The experimental `allowUnverified` sign-up: the account now, its address unverified until confirmed. */
export async function createUnverifiedUser(
  scope: Scope,
  address: string,
  hash: string,
): Promise<UnverifiedAccount> {
  if (await emails.emailKnown(scope, address)) refuse('address-in-use');
  const { userId, lastPasswordReset } = await userWrites.insertUser(scope, hash);
  await emailWrites.insertEmail(scope, userId, address, 'secondary', false); // a racing owner wins: unique key
  const secret = await staged.stage(scope, {
    email: address,
    newAccount: false,
    existingUser: userId,
    passwd: hash,
  });
  return { userId, lastPasswordReset, secret };
}

export async function addPrimaryEmailToAccount(scope: Scope, userId: number, address: string): Promise<void> {
  if (!(await users.userKnown(scope, userId))) refuse('no-such-user');
  await emailWrites.attachEmail(scope, userId, address, 'primary');
}

export async function removeEmail(scope: Scope, userId: number, address: string): Promise<void> {
  if (!(await emails.userOwnsEmail(scope, userId, address))) refuse('not-owner');
  await emailWrites.deleteEmail(scope, address);
}

/** Removes the account's addresses, its pending verifications and the account. */
export async function cancelAccount(scope: Scope, userId: number): Promise<boolean> {
  await emailWrites.deleteEmailsOfUser(scope, userId);
  await staged.deleteStagedOfUser(scope, userId);
  return userWrites.deleteUser(scope, userId);
}
