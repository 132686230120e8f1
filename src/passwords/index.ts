/**
 * Password hashing (reference/persona.md §5.4, SPEC §6): bcrypt runs off the event loop (the native
 * binding's thread pool), behind an admission queue of our own. When the expected wait for a slot passes
 * the limit, or the work would end after the request's deadline (http/deadline.ts), the caller gets 503 at
 * once instead of an answer nobody waits for any more.
 */
import { availableParallelism } from 'node:os';
import bcrypt from 'bcrypt';
import { currentDeadline } from '../http/deadline.ts';
import { ServiceError } from '../http/errors.ts';

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 80;

export interface PasswordHasherOptions {
  /** bcrypt work factor for new hashes. */
  readonly cost: number;
  /** Hashes computed at once; default the cores (the binding's pool has 4 threads). */
  readonly parallelism?: number;
  /** Refuse work whose expected wait exceeds this (the original's 10 s max_compute_duration). */
  readonly maxWaitMs?: number;
  /** Hard bound on waiting jobs. */
  readonly maxQueue?: number;
  /** A first guess of one hash's duration, ms, until measured; default from the cost. */
  readonly firstGuessMs?: number;
  /** Called with each hash/compare duration, for metrics. */
  readonly onTiming?: (kind: 'hash' | 'compare', ms: number) => void;
}

/**
 * `deadline` (ms since the epoch) is when the result is no use any more; by default the deadline of the
 * request being served.
 */
export interface PasswordHasher {
  hash(password: string, deadline?: number): Promise<string>;
  compare(password: string, hash: string, deadline?: number): Promise<boolean>;
  /** True when a stored hash was made with another cost than the configured one. */
  needsRehash(hash: string): boolean;
  /** Jobs running and waiting, for metrics and tests. */
  load(): { running: number; waiting: number; averageMs: number };
}

/** The cost a bcrypt hash was made with, or undefined for something that is not a bcrypt hash. */
export function bcryptCost(hash: string): number | undefined {
  const m = /^\$2[abxy]?\$(\d\d)\$[./A-Za-z0-9]{53}$/.exec(hash);
  return m ? Number(m[1]) : undefined;
}

export function createPasswordHasher(options: PasswordHasherOptions): PasswordHasher {
  const parallelism = Math.max(1, Math.min(4, options.parallelism ?? availableParallelism()));
  const maxWaitMs = options.maxWaitMs ?? 10_000;
  const maxQueue = options.maxQueue ?? 10_000;
  // A first guess until measurements arrive: cost 12 is about 250 ms of one core here (reference/peers.md §6.2).
  let averageMs = options.firstGuessMs ?? 250 * 2 ** (options.cost - 12);
  let running = 0;
  interface Waiter {
    readonly deadline: number;
    readonly start: () => void;
    readonly refuse: () => void;
  }
  const waiting: Waiter[] = [];
  const tooBusy = () => new ServiceError('too-busy', 'server is too busy');
  // Would work started `wait` ms from now end after the deadline?
  const late = (deadline: number, wait: number) => Date.now() + wait + averageMs > deadline;

  function admit(deadline: number): Promise<void> {
    if (running < parallelism) {
      if (late(deadline, 0)) return Promise.reject(tooBusy());
      running++;
      return Promise.resolve();
    }
    const expectedWait = Math.ceil((waiting.length + 1) / parallelism) * averageMs;
    if (waiting.length >= maxQueue || expectedWait > maxWaitMs || late(deadline, expectedWait)) {
      return Promise.reject(tooBusy());
    }
    return new Promise((resolve, reject) =>
      waiting.push({
        deadline,
        start: resolve,
        refuse: () => {
          reject(tooBusy());
        },
      }),
    );
  }

  function release(): void {
    // Waiters admitted on an estimate that has grown since (the first guess, a busier machine) and who
    // can no longer be served in time are refused now, not when their deadline runs out.
    let kept = 0;
    for (const waiter of waiting.splice(0)) {
      if (late(waiter.deadline, Math.floor(kept / parallelism) * averageMs)) waiter.refuse();
      else waiting[kept++] = waiter;
    }
    const next = waiting.shift();
    if (next) next.start();
    else running--;
  }

  async function run<T>(
    kind: 'hash' | 'compare',
    deadline: number | undefined,
    work: () => Promise<T>,
  ): Promise<T> {
    await admit(deadline ?? currentDeadline() ?? Infinity);
    const started = performance.now();
    try {
      return await work();
    } finally {
      const ms = performance.now() - started;
      averageMs = averageMs * 0.8 + ms * 0.2;
      options.onTiming?.(kind, ms);
      release();
    }
  }

  return {
    hash: (password, deadline) => run('hash', deadline, () => bcrypt.hash(password, options.cost)),
    compare: (password, hash, deadline) =>
      bcryptCost(hash) === undefined
        ? Promise.resolve(false)
        : run('compare', deadline, () => bcrypt.compare(password, hash)),
    needsRehash: (hash) => bcryptCost(hash) !== options.cost,
    load: () => ({ running, waiting: waiting.length, averageMs }),
  };
}
