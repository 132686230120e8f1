/** Counting a run: per-second buckets of activities, requests, latencies, errors and 503s. */
import { ACTIVITY_KINDS, type ActivityKind } from './model.ts';
import type { RequestSample } from './client.ts';

export type PerKind = Record<ActivityKind, number>;
export const perKind = (): PerKind => Object.fromEntries(ACTIVITY_KINDS.map((k) => [k, 0])) as PerKind;

export interface Second {
  /** Seconds since the run started. */
  readonly t: number;
  readonly completed: PerKind;
  readonly failed: PerKind;
  readonly requestMs: number[];
  requests: number;
  /** Requests answered 503 (the deployment shedding load). */
  http503: number;
  /** Activities not started because too many were outstanding (the deployment fell behind). */
  shed: number;
  /**
   * Activities not started because every account tried was busy with another: load the loadgen meant
   * to offer and did not (its pool of accounts is too small for the rate), never the deployment's fault.
   */
  unstarted: number;
}

/** The q-quantile of sorted values (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
}

export interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    p99: quantile(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? 0,
  };
}

/** An error message without what varies per user (addresses, tokens, query strings), for counting alike ones. */
export const errorKind = (message: string): string =>
  message
    .replace(/\?[^\s]*/g, '')
    .replace(/[0-9a-z]{16}@[\w.-]+/g, '…')
    .slice(0, 200);

export class Recorder {
  readonly seconds: Second[] = [];
  readonly activityMs: Record<ActivityKind, number[]> = Object.fromEntries(
    ACTIVITY_KINDS.map((k) => [k, []]),
  ) as unknown as Record<ActivityKind, number[]>;
  readonly errors = new Map<string, number>();
  readonly requestsByWhat = new Map<string, number>();
  bcryptOps = 0;
  linksFollowed = 0;
  private started: number;

  constructor(started = performance.now()) {
    this.started = started;
  }

  /** Starts the clock again with nothing counted (after seeding). */
  restart(): void {
    this.started = performance.now();
    this.seconds.splice(0);
    for (const list of Object.values(this.activityMs)) list.splice(0);
    this.errors.clear();
    this.requestsByWhat.clear();
    this.bcryptOps = 0;
    this.linksFollowed = 0;
  }

  /** Seconds since the clock started. */
  elapsed(at = performance.now()): number {
    return (at - this.started) / 1000;
  }

  /** The bucket for now (or for `at`, ms on the performance clock). */
  second(at = performance.now()): Second {
    const t = Math.max(0, Math.floor((at - this.started) / 1000));
    while (this.seconds.length <= t)
      this.seconds.push({
        t: this.seconds.length,
        completed: perKind(),
        failed: perKind(),
        requestMs: [],
        requests: 0,
        http503: 0,
        shed: 0,
        unstarted: 0,
      });
    return this.seconds[t] as Second;
  }

  request(sample: RequestSample): void {
    const s = this.second();
    s.requests++;
    s.requestMs.push(sample.ms);
    s.http503 += sample.refusals;
    this.requestsByWhat.set(sample.what, (this.requestsByWhat.get(sample.what) ?? 0) + 1);
  }

  done(kind: ActivityKind, ms: number, error?: unknown): void {
    const s = this.second();
    if (error === undefined) {
      s.completed[kind]++;
      this.activityMs[kind].push(ms);
      return;
    }
    s.failed[kind]++;
    const message = errorKind(`${kind}: ${error instanceof Error ? error.message : JSON.stringify(error)}`);
    this.errors.set(message, (this.errors.get(message) ?? 0) + 1);
  }

  shed(): void {
    this.second().shed++;
  }

  unstarted(): void {
    this.second().unstarted++;
  }
}

export interface Totals {
  readonly seconds: number;
  readonly completed: PerKind;
  readonly failed: PerKind;
  readonly activities: number;
  readonly failures: number;
  readonly shed: number;
  readonly http503: number;
  readonly requests: number;
  readonly failureRate: number;
  readonly unstarted: number;
  /** Share of the offered activities the loadgen did not start (no idle account). */
  readonly unstartedRate: number;
  readonly activitiesPerSecond: number;
  readonly requestsPerSecond: number;
  readonly latency: Percentiles;
}

/** Sums the buckets from `from` (s) on, e.g. after a warm-up. */
export function totalsOf(seconds: readonly Second[], from = 0, to = seconds.length): Totals {
  const window = seconds.slice(from, to);
  const completed = perKind();
  const failed = perKind();
  let shed = 0;
  let unstarted = 0;
  let http503 = 0;
  let requests = 0;
  const ms: number[] = [];
  for (const s of window) {
    for (const k of ACTIVITY_KINDS) {
      completed[k] += s.completed[k];
      failed[k] += s.failed[k];
    }
    shed += s.shed;
    unstarted += s.unstarted;
    http503 += s.http503;
    requests += s.requests;
    for (const m of s.requestMs) ms.push(m);
  }
  const activities = Object.values(completed).reduce((a, b) => a + b, 0);
  const failures = Object.values(failed).reduce((a, b) => a + b, 0) + shed;
  const n = Math.max(1, window.length);
  return {
    seconds: window.length,
    completed,
    failed,
    activities,
    failures,
    shed,
    http503,
    requests,
    failureRate: failures / Math.max(1, activities + failures),
    unstarted,
    unstartedRate: unstarted / Math.max(1, activities + failures + unstarted),
    activitiesPerSecond: activities / n,
    requestsPerSecond: requests / n,
    latency: percentiles(ms),
  };
}
