/** Queries on `idp`: when a domain was last seen acting as a primary (its support document worked). */
import { seconds, toNumber, type Scope } from '../scope.ts';

export async function updateIDPLastSeen({ db, engine, now }: Scope, domain: string): Promise<void> {
  const lastSeen = engine.timestamp(seconds(now));
  const insert = db.insertInto('idp').values({ domain, lastSeen });
  await (
    engine.kind === 'mysql'
      ? insert.onDuplicateKeyUpdate({ lastSeen })
      : insert.onConflict((oc) => oc.column('domain').doUpdateSet({ lastSeen }))
  ).execute();
}

/** Epoch seconds, or undefined for a domain never seen. */
export async function getIDPLastSeen({ db, engine }: Scope, domain: string): Promise<number | undefined> {
  const row = await db
    .selectFrom('idp')
    .select(engine.unixSeconds('idp.lastSeen').as('t'))
    .where('domain', '=', domain)
    .executeTakeFirst();
  return row && toNumber(row.t);
}

export async function forgetIDP({ db }: Scope, domain: string): Promise<void> {
  await db.deleteFrom('idp').where('domain', '=', domain).execute();
}
