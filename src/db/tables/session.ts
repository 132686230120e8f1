/** Reads for a session cookie's standing (SPEC §4.12): its user's lastPasswordReset and its revocation. */
import { toNumber, type Scope } from '../scope.ts';

export interface SessionStanding {
  /** Epoch seconds; sessions that authenticated before a later value are void. */
  readonly lastPasswordReset: number;
  /** The session's id was revoked (logout, password change, account cancel). */
  readonly revoked: boolean;
}

/**
 * One query for both checks, so revocation costs a signed-in request no extra round trip and every
 * webhead sees a revocation as soon as its database does. Undefined: the user is gone.
 */
export async function sessionStanding(
  { db, engine }: Scope,
  uid: number,
  sid: string | undefined,
): Promise<SessionStanding | undefined> {
  const row = await db
    .selectFrom('user')
    .select((eb) => [
      engine.unixSeconds('user.lastPasswordReset').as('t'),
      eb
        .selectFrom('revoked_session')
        .select((r) => r.fn.countAll().as('n'))
        .where('sid', '=', sid ?? '')
        .as('revoked'),
    ])
    .where('id', '=', uid)
    .executeTakeFirst();
  return (
    row && { lastPasswordReset: toNumber(row.t), revoked: sid !== undefined && toNumber(row.revoked) > 0 }
  );
}
