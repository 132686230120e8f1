/**
 * How an operation runs: reads once more on a fresh connection when theirs turned out dead; writes in a
 * transaction, repeated when the server chose it as a deadlock victim (errno 1213, which is also how
 * Galera reports a failed certification at commit) or when the connection died before COMMIT was sent
 * (the server then rolled everything back). A failure during COMMIT itself is never repeated: whether it
 * took effect is unknown, so the caller gets `database unavailable`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely, Transaction } from 'kysely';
import { StorageError, isDeadlock, toUnavailable, unavailability } from './errors.ts';
import type { Database } from './schema.ts';

const DEADLOCK_ATTEMPTS = 6;
const CONNECTION_RETRIES = 1;

/** Driver errors that mean "unavailable" become DatabaseUnavailableError; others (bugs) pass through. */
const surface = (err: unknown): unknown => toUnavailable(err) ?? err;

export async function read<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (err) {
    if (err instanceof StorageError || unavailability(err) !== 'connection') throw surface(err);
  }
  try {
    return await query();
  } catch (err) {
    throw surface(err);
  }
}

export interface TransactOptions {
  /** Extra errors worth a fresh attempt for this operation (e.g. a unique-key race it resolves). */
  readonly retryOn?: (err: unknown) => boolean;
  /** Observes each repeat (tests and metrics). */
  readonly onRetry?: (err: unknown, attempt: number) => void;
}

export async function transact<T>(
  db: Kysely<Database>,
  body: (trx: Transaction<Database>) => Promise<T>,
  options: TransactOptions = {},
): Promise<T> {
  let connectionRetries = 0;
  for (let attempt = 1; ; attempt++) {
    // An object, not a boolean: the catch block must see what the try block set.
    const phase = { committing: false };
    try {
      const trx = await db.startTransaction().execute();
      try {
        const result = await body(trx);
        phase.committing = true;
        await trx.commit().execute();
        return result;
      } catch (err) {
        if (!trx.isCommitted && !trx.isRolledBack)
          await trx
            .rollback()
            .execute()
            .catch(() => undefined); // the original error is the one worth reporting
        throw err;
      }
    } catch (err) {
      if (err instanceof StorageError) throw err;
      let again = false;
      if (attempt < DEADLOCK_ATTEMPTS) {
        if (isDeadlock(err) || options.retryOn?.(err) === true) again = true;
        else if (
          !phase.committing &&
          unavailability(err) === 'connection' &&
          connectionRetries < CONNECTION_RETRIES
        ) {
          connectionRetries++;
          again = true;
        }
      }
      if (!again) throw surface(err);
      options.onRetry?.(err, attempt);
      // Jittered backoff so two victims of one deadlock do not collide again in step.
      await sleep(Math.random() * 10 * attempt);
    }
  }
}
