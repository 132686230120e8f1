/**
 * A write-heavy client for drills: simulated people sign up (stage_user → the mail's link →
 * complete_user_creation), change their password (update_password) and reset it (stage_reset → the
 * mail's link → complete_reset with a new password), each from its own client address,
 * and right after each acknowledged write sign in from a fresh browser (the stale-read probe). Every
 * acknowledged write is recorded with its password; a write that failed without an answer is recorded as
 * "maybe" (its outcome is unknown to the client, so neither outcome is a loss). `verify` signs in to every
 * account afterwards: an account that does not accept its acknowledged password is a lost write.
 */
import { randomBytes } from 'node:crypto';
import { clientAddresses, Device, Dispatchers, type Answer } from '../loadgen/client.ts';
import type { MailSink } from '../loadgen/mail.ts';

export interface WriteEvent {
  /** performance.now() when the request was sent and when its answer came. */
  readonly sent: number;
  readonly done: number;
  readonly op: string;
  readonly ok: boolean;
  /** HTTP status, 0 when none came. */
  readonly status: number;
}

interface Account {
  /** The last password a password write was acknowledged with. */
  acknowledged: string;
  /** Passwords of writes that failed without an answer: they may or may not have landed. */
  readonly maybe: Set<string>;
}

export interface WriteLoadOptions {
  readonly base: string;
  readonly mail: MailSink;
  /** Concurrent people. */
  readonly workers: number;
  /** Distinguishes this run's addresses from other runs on the same database. */
  readonly tag?: string;
  /** At most this many sign-ups started per second (all workers together); default unlimited. */
  readonly maxSignUpsPerSecond?: number;
  /** Stop after this many sign-ups have been started; default unlimited (stop() ends the load). */
  readonly signUps?: number;
  readonly requestTimeoutMs?: number;
}

export interface WriteTally {
  /** Requests made by the load (writes and stale-read probes). */
  readonly requests: number;
  readonly failedRequests: number;
  /** Writes acknowledged (sign-ups completed, passwords changed, resets completed). */
  readonly acknowledged: number;
  /** Sign-ins right after an acknowledged write that did not see it. */
  readonly staleReads: number;
  readonly accounts: number;
  /** Failures by what and status, e.g. `complete_user_creation 503`. */
  readonly failures: Readonly<Record<string, number>>;
}

export interface Verification {
  readonly checked: number;
  /** Accounts that refused their acknowledged password (and every unknown-outcome one). */
  readonly lost: readonly string[];
  /** Accounts that could not be checked (no answer after retries). */
  readonly unchecked: number;
}

export interface WriteLoad {
  readonly events: WriteEvent[];
  tally(): WriteTally;
  /** Stops starting new work and waits for the work in flight. */
  stop(): Promise<void>;
  /** Signs in to every account with its acknowledged password (after stop). */
  verify(): Promise<Verification>;
  /** Stops and closes the client's connections. */
  close(): Promise<void>;
  /** The accounts and their acknowledged passwords (for a deliberate-loss check). */
  readonly ledger: ReadonlyMap<string, { readonly acknowledged: string }>;
  readonly done: Promise<void>;
}

const password = () => randomBytes(9).toString('base64url');

export function startWriteLoad(options: WriteLoadOptions): WriteLoad {
  const dispatchers = new Dispatchers();
  const addresses = clientAddresses(options.base, 4096);
  const tag = options.tag ?? randomBytes(4).toString('hex');
  const ledger = new Map<string, Account>();
  const events: WriteEvent[] = [];
  const failures: Record<string, number> = {};
  let requests = 0;
  let failedRequests = 0;
  let acknowledged = 0;
  let staleReads = 0;
  let started = 0;
  let stopping = false;
  // Read through a function: stop() sets it while a worker awaits (tsc cannot see that).
  const isStopping = () => stopping;
  let nextAddress = 0;

  const device = () => {
    const address = addresses[nextAddress++ % addresses.length];
    return new Device({
      base: options.base,
      dispatcher: dispatchers.for(address),
      observe: () => undefined,
      timeoutMs: options.requestTimeoutMs ?? 30_000,
    });
  };

  /** One write; its answer when 200 with success:true, else undefined (counted as a failure). */
  const attempt = async (
    d: Device,
    op: string,
    body: Record<string, unknown>,
  ): Promise<Answer | undefined> => {
    const sent = performance.now();
    requests++;
    let answer: Answer | undefined;
    let status: number;
    try {
      answer = await d.send('POST', `/wsapi/${op}`, JSON.stringify({ csrf: csrfOf(d), ...body }));
      status = answer.status;
    } catch {
      status = 0; // no answer
    }
    const ok = status === 200 && answer?.json().success === true;
    events.push({ sent, done: performance.now(), op, ok, status });
    if (!ok) {
      failedRequests++;
      const key = `${op} ${status === 200 ? 'success:false' : String(status)}`;
      failures[key] = (failures[key] ?? 0) + 1;
      return undefined;
    }
    return answer;
  };

  // Device keeps its CSRF token private: read it from a session_context made through it.
  const csrfs = new WeakMap<Device, string>();
  const csrfOf = (d: Device) => csrfs.get(d);
  const open = async (d: Device): Promise<boolean> => {
    const sent = performance.now();
    requests++;
    try {
      const context = await d.context();
      csrfs.set(d, String(context.csrf_token));
      events.push({ sent, done: performance.now(), op: 'session_context', ok: true, status: 200 });
      return true;
    } catch {
      failedRequests++;
      failures['session_context'] = (failures['session_context'] ?? 0) + 1;
      events.push({ sent, done: performance.now(), op: 'session_context', ok: false, status: 0 });
      return false;
    }
  };

  /** A fresh browser signs in right after an acknowledged write: a refusal is a stale read. */
  const probe = async (email: string, pass: string) => {
    const d = device();
    if (!(await open(d))) return;
    const sent = performance.now();
    requests++;
    let answer: Answer | undefined;
    try {
      answer = await d.send(
        'POST',
        '/wsapi/authenticate_user',
        JSON.stringify({ csrf: csrfOf(d), email, pass, ephemeral: false }),
      );
    } catch {
      answer = undefined;
    }
    const success = answer?.status === 200 && answer.json().success === true;
    events.push({
      sent,
      done: performance.now(),
      op: 'authenticate_user',
      ok: success,
      status: answer?.status ?? 0,
    });
    if (answer?.status === 200 && !success) staleReads++;
    if (!success) {
      failedRequests++;
      const key = `authenticate_user ${answer === undefined ? '0' : answer.status === 200 ? 'stale' : String(answer.status)}`;
      failures[key] = (failures[key] ?? 0) + 1;
    }
  };

  let pacing = 0;
  const nextSlot = async () => {
    const rate = options.maxSignUpsPerSecond;
    if (rate === undefined) return;
    const now = performance.now();
    pacing = Math.max(pacing + 1000 / rate, now);
    const wait = pacing - now;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  };

  const person = async (n: number) => {
    const email = `drill-${tag}-${n}@drill.test`;
    const first = password();
    const d = device();
    if (!(await open(d))) return;
    if (!(await attempt(d, 'stage_user', { email, pass: first, site: 'https://rp.drill.test' }))) return;
    let token: string;
    try {
      token = (await options.mail.linkFor(email, 30_000)).token;
    } catch {
      failedRequests++;
      failures['mail not received'] = (failures['mail not received'] ?? 0) + 1;
      return;
    }
    const account: Account = { acknowledged: '', maybe: new Set([first]) };
    ledger.set(email, account);
    if (!(await attempt(d, 'complete_user_creation', { token }))) return;
    account.acknowledged = first;
    account.maybe.delete(first);
    acknowledged++;
    await probe(email, first);
    const second = password();
    account.maybe.add(second);
    if (!(await attempt(d, 'update_password', { oldpass: first, newpass: second }))) return;
    account.acknowledged = second;
    account.maybe.clear();
    acknowledged++;
    await probe(email, second);
    // A forgotten password: the reset link proves the address, and the new password comes with it.
    if (!(await attempt(d, 'stage_reset', { email, site: 'https://rp.drill.test' }))) return;
    let resetToken: string;
    try {
      resetToken = (await options.mail.linkFor(email, 30_000)).token;
    } catch {
      failedRequests++;
      failures['mail not received'] = (failures['mail not received'] ?? 0) + 1;
      return;
    }
    const third = password();
    account.maybe.add(third);
    if (!(await attempt(d, 'complete_reset', { token: resetToken, pass: third }))) return;
    account.acknowledged = third;
    account.maybe.clear();
    acknowledged++;
    await probe(email, third);
  };

  const worker = async () => {
    while (!isStopping() && (options.signUps === undefined || started < options.signUps)) {
      await nextSlot();
      if (isStopping()) break;
      await person(started++);
    }
  };
  const done = Promise.all(Array.from({ length: options.workers }, worker)).then(() => undefined);

  const tally = (): WriteTally => ({
    requests,
    failedRequests,
    acknowledged,
    staleReads,
    accounts: ledger.size,
    failures: { ...failures },
  });

  const signsIn = async (email: string, pass: string): Promise<boolean | undefined> => {
    for (let i = 0; i < 5; i++) {
      const d = device();
      try {
        const context = await d.context();
        const answer = await d.send(
          'POST',
          '/wsapi/authenticate_user',
          JSON.stringify({ csrf: String(context.csrf_token), email, pass, ephemeral: false }),
        );
        if (answer.status === 200) return answer.json().success === true;
      } catch {
        // asked again below
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    return undefined;
  };

  return {
    events,
    ledger,
    done,
    tally,
    async stop() {
      stopping = true;
      await done;
    },
    async verify() {
      const lost: string[] = [];
      let unchecked = 0;
      let checked = 0;
      const entries = [...ledger].filter(([, a]) => a.acknowledged !== '');
      const check = async ([email, account]: [string, Account]) => {
        const candidates = [account.acknowledged, ...account.maybe];
        let verdict: boolean | undefined = false;
        for (const pass of candidates) {
          verdict = await signsIn(email, pass);
          if (verdict !== false) break;
        }
        checked++;
        if (verdict === undefined) unchecked++;
        else if (!verdict) lost.push(email);
      };
      for (let i = 0; i < entries.length; i += 16) await Promise.all(entries.slice(i, i + 16).map(check));
      return { checked, lost, unchecked };
    },
    async close() {
      stopping = true;
      await done;
      await dispatchers.close();
    },
  };
}
