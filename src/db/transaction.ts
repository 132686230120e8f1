/**
 * How an operation runs through a failover (SPEC §5, docs/database-ha.md):
 * - reads are asked again on a fresh connection when theirs died or its node was not ready;
 * - writes run in a transaction, repeated when the server chose it as a deadlock victim (errno 1213,
 *   which is also how Galera reports a failed certification), or when the attempt failed before COMMIT
 *   was sent (connection lost or refused, node not ready 1047, server shutting down): the server rolled
 *   it back, so nothing of it is applied. Such repeats go on with a growing pause while a writer moves
 *   (HAProxy needs a few seconds to see a node dead), within the failover window and the request's
 *   deadline;
 * - a connection lost during COMMIT leaves the outcome unknown (the write set may have been replicated
 *   before the node died). The transaction is repeated only when the operation says it is idempotent;
 *   otherwise the caller gets `database unavailable` (503) and the client decides.
 * A timeout is never repeated here: the database is slow, and asking again would make it slower.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely, Transaction } from 'kysely';
// The request's deadline (an AsyncLocalStorage set by the tier): repeats stop before it passes.
import { currentDeadline } from '../http/deadline.ts';
import { StorageError, isDeadlock, toUnavailable, unavailability } from './errors.ts';
import type { Database } from './schema.ts';

const DEADLOCK_ATTEMPTS = 6;
/** How long an operation keeps trying while the writer moves to another node, unless the target says. */
export const FAILOVER_WINDOW_MS = 0;
/** Left for answering once the repeats stop, before the request's deadline. */
const ANSWER_MARGIN_MS = 500;

/** Driver errors that mean "unavailable" become DatabaseUnavailableError; others (bugs) pass through. */
const surface = (err: unknown): unknown => toUnavailable(err) ?? err;

/** The attempt never reached a working node (or the node dropped it): retrying elsewhere is safe. */
const isFailover = (err: unknown): boolean => unavailability(err) === 'connection';

function windowEnd(started: number, windowMs: number): number {
  const deadline = currentDeadline();
  const own = started + windowMs;
  return deadline === undefined ? own : Math.min(own, deadline - ANSWER_MARGIN_MS);
}

/** Pause before the next attempt: short at first (a dead pooled connection), then up to 1 s. */
const pause = (attempt: number): number =>
  Math.min(1000, 50 * 2 ** Math.min(attempt - 1, 5)) * (0.5 + Math.random() / 2);

export interface ReadOptions {
  /** Default FAILOVER_WINDOW_MS. */
  readonly failoverWindowMs?: number;
}

export async function read<T>(query: () => Promise<T>, options: ReadOptions = {}): Promise<T> {
  const started = Date.now();
  const end = windowEnd(started, options.failoverWindowMs ?? FAILOVER_WINDOW_MS);
  for (let attempt = 1; ; attempt++) {
    try {
      return await query();
    } catch (err) {
      if (err instanceof StorageError || !isFailover(err)) throw surface(err);
      const wait = pause(attempt);
      // The first repeat is immediate-ish (a pooled connection found dead); later ones wait for a node.
      if (attempt > 1 && Date.now() + wait > end) throw surface(err);
      await sleep(wait);
    }
  }
}

export interface TransactOptions {
  /** Extra errors worth a fresh attempt for this operation (e.g. a unique-key race it resolves). */
  readonly retryOn?: (err: unknown) => boolean;
  /**
   * Repeating the whole transaction after it took effect changes nothing (e.g. setting a password hash):
   * it may then be repeated when the connection was lost during COMMIT.
   */
  readonly idempotent?: boolean;
  /** Observes each repeat (tests and metrics). */
  readonly onRetry?: (err: unknown, attempt: number) => void;
  /** Default FAILOVER_WINDOW_MS. */
  readonly failoverWindowMs?: number;
}

export async function transact<T>(
  db: Kysely<Database>,
  body: (trx: Transaction<Database>) => Promise<T>,
  options: TransactOptions = {},
): Promise<T> {
  const started = Date.now();
  const end = windowEnd(started, options.failoverWindowMs ?? FAILOVER_WINDOW_MS);
  let conflicts = 0;
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
      let wait = Math.random() * 10 * attempt; // jittered, so two victims of one deadlock do not collide again
      if (isDeadlock(err) || options.retryOn?.(err) === true) again = ++conflicts < DEADLOCK_ATTEMPTS;
      else if (isFailover(err) && (!phase.committing || options.idempotent === true)) {
        wait = pause(attempt);
        again = attempt === 1 || Date.now() + wait <= end;
      }
      if (!again) throw surface(err);
      options.onRetry?.(err, attempt);
      await sleep(wait);
    }
  }
}
