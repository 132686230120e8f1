/**
 * Reads on `rate_limit` (ours, SPEC §4.4): a fixed-window counter per bucket, e.g. `ip:203.0.113.9` or
 * `addr:a@example.com`, shared by every instance because it lives in the database.
 */
import { toNumber, type Scope } from '../scope.ts';

export interface RateLimitHit {
  /** Hits in the current window, this one included. */
  readonly hits: number;
  readonly allowed: boolean;
  /** When the window ends (epoch ms): the moment to tell the client to retry. */
  readonly resetAt: number;
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

/** The bucket's current window (hits and when it began), undefined when none is running. */
export async function windowOf(
  { db, now }: Scope,
  bucket: string,
  windowMs: number,
): Promise<{ readonly hits: number; readonly windowStart: number } | undefined> {
  const row = await db
    .selectFrom('rate_limit')
    .select(['hits', 'window_start'])
    .where('bucket', '=', bucket)
    .executeTakeFirst();
  if (row === undefined || toNumber(row.window_start) <= now - windowMs) return undefined;
  return { hits: toNumber(row.hits), windowStart: toNumber(row.window_start) };
}
