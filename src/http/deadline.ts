/**
 * One end-to-end deadline per request (SPEC §6, issue 10): the router stamps it when a request arrives,
 * every tier call carries it, and each queue on the way (the router's connection pool, the bcrypt
 * admission) refuses work that cannot finish before it, with 503 + Retry-After, instead of serving it late.
 *
 * The deadline travels as an absolute time (ms since the epoch) in `x-persona-deadline`, so time spent
 * queued in the caller counts without the caller rewriting the header when a connection frees up. The
 * header is outside the tier MAC (which covers method, url and body): a tier honours it only within its
 * own budget from arrival, so a changed header can only shorten a request's life, which anyone able to
 * change it could already do by delaying or dropping the request. Clocks of one region are NTP-close;
 * skew shortens or lengthens a request by that skew, never past the callee's own budget.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export const DEADLINE_HEADER = 'x-persona-deadline';
/** A request's whole life, router queueing included: the original's 10 s bcrypt max_compute_duration. */
export const REQUEST_DEADLINE_MS = 10_000;
/** What a 503 tells a client to wait before trying again, in seconds. */
export const RETRY_AFTER_S = 2;

/**
 * The deadline of a request arriving `now`: `now + budgetMs`, or earlier when the caller's header says
 * so. A header that is not a plain integer is ignored; one in the past gives a deadline already passed.
 */
export function deadlineOf(header: string | string[] | undefined, now: number, budgetMs: number): number {
  const own = now + budgetMs;
  if (typeof header !== 'string' || !/^\d{1,15}$/.test(header)) return own;
  return Math.min(own, Number(header));
}

const current = new AsyncLocalStorage<number>();

/**
 * Runs `fn` (and everything it starts) under `deadline`: the request's queues read it with
 * `currentDeadline()`, so it need not be threaded through every business function between the route and
 * the bcrypt queue or the next tier call.
 */
export const withDeadline = <T>(deadline: number, fn: () => T): T => current.run(deadline, fn);

/** The deadline of the request being served, if any. */
export const currentDeadline = (): number | undefined => current.getStore();
