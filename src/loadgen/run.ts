/**
 * The load: simulated users seeded through the wsapi (real mail, links followed), then activities started
 * as a Poisson process at the model's rate for the active users asked for, each on an idle user of the
 * pool, with at most twice a second's worth outstanding (as the original: a deployment that cannot keep
 * up plateaus, and the activities not started count as failures).
 */
import type { LookupFunction } from 'node:net';
import { availableParallelism } from 'node:os';
import bcrypt from 'bcrypt';
import {
  ACTIVITIES,
  cancelAccount,
  makeKeys,
  newEmail,
  newPassword,
  signInDevice,
  signUp,
  type ActivityContext,
  type SimUser,
} from './activities.ts';
import { clientAddresses, Device, Dispatchers } from './client.ts';
import type { MailSink } from './mail.ts';
import { ACTIVITIES_PER_USER_SECOND, ACTIVITY_KINDS, pickActivity, type ActivityKind } from './model.ts';
import { percentiles, Recorder } from './stats.ts';

export interface LoadOptions {
  /** The deployment's public URL (its router or load balancer). */
  readonly base: string;
  readonly mail: MailSink;
  /** The domain of the simulated users' addresses; the deployment must send its mail to `mail`. */
  readonly mailDomain?: string;
  /** Client addresses to spread the devices over (from 127.0.0.0/8 on loopback). */
  readonly addresses?: number;
  readonly random?: () => number;
  readonly mailTimeoutMs?: number;
  /** Resolves the service's name (e.g. through the regions' DNS server) instead of the system. */
  readonly lookup?: LookupFunction;
  /** The addresses that name resolves to are on loopback: spread devices over 127.0.0.0/8 anyway. */
  readonly loopbackClients?: boolean;
}

/** Relative weights replacing the model's (e.g. every kind equally, to exercise each in a short run). */
export type Mix = Readonly<Partial<Record<ActivityKind, number>>>;

function picker(mix: Mix | undefined): (u: number) => ActivityKind {
  if (!mix) return pickActivity;
  const sum = ACTIVITY_KINDS.reduce((s, k) => s + (mix[k] ?? 0), 0);
  return (u) => {
    let acc = 0;
    for (const k of ACTIVITY_KINDS) {
      acc += (mix[k] ?? 0) / sum;
      if (u < acc) return k;
    }
    return 'include_only';
  };
}

export interface Load {
  readonly recorder: Recorder;
  readonly pool: SimUser[];
  /** Signs up `n` users through the wsapi, `concurrency` at a time. */
  seed(n: number, concurrency?: number): Promise<void>;
  /** Holds `users` active users for `seconds`; `onSecond` is called once a second. */
  hold(users: number, seconds: number, onSecond?: (outstanding: number) => void, mix?: Mix): Promise<void>;
  /** Cancels every account the run made. Returns how many could not be cancelled. */
  cleanup(concurrency?: number): Promise<number>;
  readonly outstanding: number;
  close(): Promise<void>;
}

/** A Poisson-distributed count with mean `mean`. */
function poisson(mean: number, random: () => number): number {
  if (mean > 30) {
    const gauss = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * gauss));
  }
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = random(); p > limit; p *= random()) k++;
  return k;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

export function createLoad(options: LoadOptions): Load {
  const random = options.random ?? Math.random;
  const recorder = new Recorder();
  const dispatchers = new Dispatchers(options.lookup);
  const addresses = clientAddresses(
    options.loopbackClients ? 'http://127.0.0.1' : options.base,
    options.addresses ?? 1024,
  );
  let nextAddress = 0;
  const pool: SimUser[] = [];
  /** Every account made, for the cleanup (users leave the pool only when it ends). */
  const made: SimUser[] = [];
  let outstanding = 0;

  const ctx: ActivityContext = {
    base: options.base,
    mail: options.mail,
    mailDomain: options.mailDomain ?? 'loadtest.domain',
    keys: makeKeys(5),
    random,
    newDevice: () =>
      new Device({
        base: options.base,
        dispatcher: dispatchers.for(addresses[nextAddress++ % addresses.length]),
        // As the dialog does: a moment of shedding costs the person a wait, which the latency shows.
        retryBusy: true,
        observe: (sample) => {
          recorder.request(sample);
        },
      }),
    bcrypt: (n = 1) => {
      recorder.bcryptOps += n;
    },
    linkFollowed: () => {
      recorder.linksFollowed++;
    },
    adopt: (user) => {
      pool.push(user);
      made.push(user);
    },
    mailTimeoutMs: options.mailTimeoutMs ?? 15_000,
  };

  const idleUser = (): SimUser | undefined => {
    for (let i = 0; i < 16 && pool.length > 0; i++) {
      const user = pool[Math.floor(random() * pool.length)] as SimUser;
      if (!user.busy) return user;
    }
    return undefined;
  };

  const start = (kind: ActivityKind): Promise<void> | undefined => {
    const user = kind === 'signup' ? undefined : idleUser();
    if (kind !== 'signup' && !user) return undefined;
    if (user) user.busy = true;
    outstanding++;
    const began = performance.now();
    return ACTIVITIES[kind](ctx, user as SimUser)
      .then(
        () => {
          recorder.done(kind, performance.now() - began);
        },
        (err: unknown) => {
          recorder.done(kind, performance.now() - began, err);
        },
      )
      .finally(() => {
        outstanding--;
        if (user) user.busy = false;
      });
  };

  return {
    recorder,
    pool,
    get outstanding() {
      return outstanding;
    },
    async seed(n, concurrency = 2 * availableParallelism()) {
      const failures: string[] = [];
      await inParallel(
        Array.from({ length: n }, (_, i) => i),
        concurrency,
        async () => {
          const email = newEmail(ctx);
          try {
            const user = await signUp(ctx, email, newPassword(random));
            // The second device is signed in too: an active user's browsers hold sessions.
            const second = user.devices[1];
            if (second) await signInDevice(ctx, user, second);
            ctx.adopt(user);
          } catch (err) {
            failures.push(err instanceof Error ? err.message : String(err));
          }
        },
      );
      if (failures.length > 0)
        throw new Error(`seeding: ${failures.length} of ${n} sign-ups failed, e.g. ${failures[0] ?? ''}`);
    },
    async hold(users, seconds, onSecond, mix) {
      const pick = picker(mix);
      const rate = users * ACTIVITIES_PER_USER_SECOND;
      const cap = Math.max(20, Math.ceil(2 * rate));
      const began = performance.now();
      const end = began + seconds * 1000;
      const inflight = new Set<Promise<void>>();
      let last = began;
      let nextReport = began + 1000;
      while (performance.now() < end) {
        await sleep(10);
        const now = performance.now();
        const arrivals = poisson((rate * (now - last)) / 1000, random);
        last = now;
        for (let i = 0; i < arrivals; i++) {
          if (outstanding >= cap) {
            recorder.shed();
            continue;
          }
          const started = start(pick(random()));
          if (!started) {
            recorder.unstarted();
            continue;
          }
          inflight.add(started);
          void started.finally(() => inflight.delete(started));
        }
        if (now >= nextReport) {
          nextReport += 1000;
          onSecond?.(outstanding);
        }
      }
      await Promise.all(inflight);
    },
    async cleanup(concurrency = 2 * availableParallelism()) {
      let failed = 0;
      await inParallel(made.splice(0), concurrency, async (user) => {
        try {
          await cancelAccount(ctx, user);
        } catch {
          failed++;
        }
      });
      pool.splice(0);
      return failed;
    },
    close: () => dispatchers.close(),
  };
}

/**
 * bcrypt compares per second with every core busy, at `cost`: the machine's password-hashing limit,
 * measured beside the load (SPEC §7: bcrypt dominates).
 */
export async function measureBcrypt(
  cost: number,
  seconds = 3,
  parallel = availableParallelism(),
): Promise<number> {
  const hash = await bcrypt.hash('the load generator', cost);
  const started = performance.now();
  let compares = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (performance.now() - started < seconds * 1000) {
        await bcrypt.compare('the load generator', hash);
        compares++;
      }
    }),
  );
  return compares / ((performance.now() - started) / 1000);
}

/** p50/p95 of the requests in the last `n` seconds of the recorder, for the live line. */
export function recentLatency(recorder: Recorder, n = 5) {
  const recent = recorder.seconds.slice(-n);
  return percentiles(recent.flatMap((s) => s.requestMs));
}
