/** Writes on `revoked_session` (SPEC §4.12): revoking a session id, forgetting revocations that outlived it. */
import type { Scope } from '../scope.ts';

/** Idempotent: revoking an id again only sets its expiry. */
export async function revoke({ db, engine }: Scope, sid: string, expiresAt: number): Promise<void> {
  const insert = db.insertInto('revoked_session').values({ sid, expires_at: expiresAt });
  await (
    engine.kind === 'mysql'
      ? insert.onDuplicateKeyUpdate({ expires_at: expiresAt })
      : insert.onConflict((oc) => oc.column('sid').doUpdateSet({ expires_at: expiresAt }))
  ).execute();
}

export async function purgeExpired({ db, now }: Scope): Promise<number> {
  const result = await db.deleteFrom('revoked_session').where('expires_at', '<', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
