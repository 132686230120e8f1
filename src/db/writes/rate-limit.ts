/** Writes on `rate_limit` (SPEC §4.4): counting a hit, pruning old windows. */
import { sql } from 'kysely';
import type { RateLimitHit } from '../tables/rate-limit.ts';
import { toNumber, type Scope } from '../scope.ts';


/** Counts one hit. Call inside a transaction: the upsert and the read must see the same row. */
export async function hit(
  { db, engine, now }: Scope,
  bucket: string,
  limit: number,
  windowMs: number,
): Promise<RateLimitHit> {
  const expired = now - windowMs;
  // A window that has run out starts again at this hit. `hits` is assigned before `window_start` because
  // MySQL evaluates ON DUPLICATE KEY assignments left to right, each seeing the ones before it.
  const update = {
    hits: sql<number>`CASE WHEN window_start <= ${expired} THEN 1 ELSE hits + 1 END`,
    window_start: sql<number>`CASE WHEN window_start <= ${expired} THEN ${now} ELSE window_start END`,
  };
  const insert = db.insertInto('rate_limit').values({ bucket, window_start: now, hits: 1 });
  await (
    engine.kind === 'mysql'
      ? insert.onDuplicateKeyUpdate(update)
      : insert.onConflict((oc) => oc.column('bucket').doUpdateSet(update))
  ).execute();
  const row = await db
    .selectFrom('rate_limit')
    .select(['hits', 'window_start'])
    .where('bucket', '=', bucket)
    .executeTakeFirstOrThrow();
  const hits = toNumber(row.hits);
  return { hits, allowed: hits <= limit, resetAt: toNumber(row.window_start) + windowMs };
}

export async function prune({ db, now }: Scope, olderThanMs: number): Promise<number> {
  const result = await db
    .deleteFrom('rate_limit')
    .where('window_start', '<', now - olderThanMs)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
