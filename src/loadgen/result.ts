/** What a run reports: the JSON written beside the HTML report, built from the recorder. */
import {
  ACTIVITIES_PER_USER_SECOND,
  ACTIVITY_WEIGHTS,
  ACTIVITY_KINDS,
  bcryptPerUserSecond,
} from './model.ts';
import { shortfalls } from './capacity.ts';
import { percentiles, quantile, totalsOf, type Percentiles, type Recorder, type Totals } from './stats.ts';
import type { TierSeries } from './tiers.ts';

export interface StepResult {
  readonly users: number;
  /** The seconds of the run it covers (measured part, after its settling time). */
  readonly from: number;
  readonly to: number;
  readonly activitiesPerSecond: number;
  readonly p95Ms: number;
  readonly failureRate: number;
  /** Share of the offered activities the loadgen could not start (every account it tried was busy). */
  readonly unstartedRate: number;
  readonly http503: number;
  readonly held: boolean;
  /** The load generator's CPU over the step, % of one core. */
  readonly loadgenCpu: number;
}

export interface LoadgenResult {
  readonly deployment: string;
  readonly startedAt: string;
  readonly machine: string;
  readonly mode: 'hold' | 'capacity';
  readonly options: {
    readonly users: number;
    readonly durationS: number;
    readonly boundMs: number;
    readonly maxFailureRate: number;
    readonly pool: number;
  };
  readonly model: {
    readonly activitiesPerUserSecond: number;
    readonly weights: Record<string, number>;
    readonly bcryptPerUserSecond: number;
  };
  readonly bcrypt: {
    readonly cost: number;
    /** Compares/s with every core busy: the mean of the measurements before and after the load. */
    readonly comparesPerSecond: number;
    readonly before: number;
    readonly limitUsers: number;
  };
  readonly steps: StepResult[];
  readonly capacity?: {
    readonly users: number;
    readonly limitUsers: number;
    readonly percentOfLimit: number;
    readonly p95Ms: number;
    readonly failureRate: number;
    readonly activitiesPerSecond: number;
    readonly loadgenCpu: number;
  };
  readonly totals: Omit<Totals, 'completed' | 'failed'> & {
    readonly completed: Record<string, number>;
    readonly failed: Record<string, number>;
  };
  readonly seconds: {
    readonly t: number;
    readonly users: number;
    readonly completed: Record<string, number>;
    readonly failed: number;
    readonly http503: number;
    readonly shed: number;
    readonly requests: number;
    readonly p50: number;
    readonly p95: number;
    readonly p99: number;
  }[];
  readonly activityLatency: Record<string, Percentiles>;
  readonly tiers: TierSeries[];
  readonly errors: Record<string, number>;
  readonly requestsByWhat: Record<string, number>;
  readonly linksFollowed: number;
  readonly bcryptOps: number;
  readonly seeded: number;
  readonly cleanup?: { readonly cancelled: number; readonly failed: number };
}

/** A held load's verdict in words: "held N active users", or "did not hold N active users (why)". */
export function holdVerdict(r: LoadgenResult): string {
  const users = `${r.options.users.toLocaleString('en')} active users`;
  const step = r.steps[0];
  if (step === undefined) return `did not hold ${users} (no step ran)`;
  if (step.held) return `held ${users}`;
  const why = shortfalls(step, r.options.boundMs, r.options.maxFailureRate);
  return `did not hold ${users}${why.length > 0 ? ` (${why.join('; ')})` : ''}`;
}

/** Average CPU of the `loadgen` series between two run times, % of one core. */
export function cpuBetween(tiers: readonly TierSeries[], name: string, from: number, to: number): number {
  const samples =
    tiers.find((t) => t.name === name)?.samples.filter((s) => s.t > from && s.t <= to + 1) ?? [];
  return samples.length ? samples.reduce((a, s) => a + s.cpu, 0) / samples.length : 0;
}

export function buildResult(input: {
  readonly deployment: string;
  readonly machine: string;
  readonly mode: 'hold' | 'capacity';
  readonly options: LoadgenResult['options'];
  readonly bcrypt: { readonly cost: number; readonly comparesPerSecond: number; readonly before: number };
  readonly recorder: Recorder;
  readonly usersAt: readonly number[];
  readonly steps: StepResult[];
  readonly capacityUsers?: number;
  readonly tiers: TierSeries[];
  readonly seeded: number;
  readonly startedAt: string;
}): LoadgenResult {
  const r = input.recorder;
  const perUser = bcryptPerUserSecond();
  const limitUsers = input.bcrypt.comparesPerSecond / perUser;
  const totals = totalsOf(r.seconds);
  const best =
    input.capacityUsers === undefined
      ? undefined
      : input.steps.filter((s) => s.held && s.users === input.capacityUsers).at(-1);
  return {
    deployment: input.deployment,
    startedAt: input.startedAt,
    machine: input.machine,
    mode: input.mode,
    options: input.options,
    model: {
      activitiesPerUserSecond: ACTIVITIES_PER_USER_SECOND,
      weights: { ...ACTIVITY_WEIGHTS },
      bcryptPerUserSecond: perUser,
    },
    bcrypt: { ...input.bcrypt, limitUsers },
    steps: input.steps,
    ...(input.capacityUsers !== undefined
      ? {
          capacity: {
            users: input.capacityUsers,
            limitUsers,
            percentOfLimit: (100 * input.capacityUsers) / limitUsers,
            p95Ms: best?.p95Ms ?? 0,
            failureRate: best?.failureRate ?? 0,
            activitiesPerSecond: best?.activitiesPerSecond ?? 0,
            loadgenCpu: best?.loadgenCpu ?? 0,
          },
        }
      : {}),
    totals: { ...totals, completed: { ...totals.completed }, failed: { ...totals.failed } },
    seconds: r.seconds.map((s) => {
      const sorted = [...s.requestMs].sort((a, b) => a - b);
      return {
        t: s.t,
        users: input.usersAt[s.t] ?? 0,
        completed: { ...s.completed },
        failed: Object.values(s.failed).reduce((a, b) => a + b, 0),
        http503: s.http503,
        shed: s.shed,
        requests: s.requests,
        p50: quantile(sorted, 0.5),
        p95: quantile(sorted, 0.95),
        p99: quantile(sorted, 0.99),
      };
    }),
    activityLatency: Object.fromEntries(ACTIVITY_KINDS.map((k) => [k, percentiles(r.activityMs[k])])),
    tiers: input.tiers,
    errors: Object.fromEntries(r.errors),
    requestsByWhat: Object.fromEntries(r.requestsByWhat),
    linksFollowed: r.linksFollowed,
    bcryptOps: r.bcryptOps,
    seeded: input.seeded,
  };
}
