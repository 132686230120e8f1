/** Reads on `idp`: when a domain was last seen acting as a primary (its support document worked). */
import { toNumber, type Scope } from '../scope.ts';

/** Epoch seconds, or undefined for a domain never seen. */
export async function getIDPLastSeen({ db, engine }: Scope, domain: string): Promise<number | undefined> {
  const row = await db
    .selectFrom('idp')
    .select(engine.unixSeconds('idp.lastSeen').as('t'))
    .where('domain', '=', domain)
    .executeTakeFirst();
  return row && toNumber(row.t);
}
