/**
 * Queries on `rate_limit` (ours, SPEC §4.4): a fixed-window counter per bucket, e.g. `ip:203.0.113.9` or
 * `addr:a@example.com`, shared by every instance because it lives in the database.
 */
import { sql } from 'kysely';
import { toNumber, type Scope } from '../scope.ts';

export interface RateLimitHit {
  /** Hits in the current window, this one included. */
  readonly hits: number;
  readonly allowed: boolean;
  /** When the window ends (epoch ms): the moment to tell the client to retry. */
  readonly resetAt: number;
}

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

/** Hits in the bucket's current window, without counting one: a read the webhead can make. */
export async function hitsOf({ db, now }: Scope, bucket: string, windowMs: number): Promise<number> {
  const row = await db
    .selectFrom('rate_limit')
    .select(['hits', 'window_start'])
    .where('bucket', '=', bucket)
    .executeTakeFirst();
  return row === undefined || toNumber(row.window_start) <= now - windowMs ? 0 : toNumber(row.hits);
}

export async function prune({ db, now }: Scope, olderThanMs: number): Promise<number> {
  const result = await db
    .deleteFrom('rate_limit')
    .where('window_start', '<', now - olderThanMs)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
