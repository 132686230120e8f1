/** Writes on `idp`: a domain seen acting as a primary, or forgotten. */
import { seconds, type Scope } from '../scope.ts';


export async function updateIDPLastSeen({ db, engine, now }: Scope, domain: string): Promise<void> {
  const lastSeen = engine.timestamp(seconds(now));
  const insert = db.insertInto('idp').values({ domain, lastSeen });
  await (
    engine.kind === 'mysql'
      ? insert.onDuplicateKeyUpdate({ lastSeen })
      : insert.onConflict((oc) => oc.column('domain').doUpdateSet({ lastSeen }))
  ).execute();
}

export async function forgetIDP({ db }: Scope, domain: string): Promise<void> {
  await db.deleteFrom('idp').where('domain', '=', domain).execute();
}
